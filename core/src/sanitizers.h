#pragma once
// Whether this build runs under AddressSanitizer. Caches of freed memory (the CPU block caches, the
// object pool) then step aside or poison what they keep, so a use after free is still reported.

#if defined(__SANITIZE_ADDRESS__)
#define BG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BG_ASAN 1
#endif
#endif

namespace bg::detail {
#ifdef BG_ASAN
inline constexpr bool kBypassPools = true;
#else
inline constexpr bool kBypassPools = false;
#endif
}  // namespace bg::detail
