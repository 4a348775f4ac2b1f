#pragma once
// Note [Exported API]
// The shared libraries of bayesgrad export their public API and nothing else: bayesgrad's code is
// compiled with hidden visibility (-fvisibility=hidden, set in the top-level CMakeLists.txt), so
// its internals neither clash with an application's symbols nor cost dynamic relocations. What is
// public is what the public headers (<library>/include/bg/...) declare: each wraps its
// declarations, after its #includes, in
//
//   BG_API_BEGIN
//
//   namespace bg { ... }
//
//   BG_API_END
//
// A function or class added to an existing public header is exported with nothing more to do; a
// new public header needs these two lines (scripts/test checks every public header for them, and
// its shared build links every test suite against the shared libraries, which fails on a function
// left hidden). A private declaration that another of bayesgrad's libraries links against uses
// the same two lines in its private header, saying who uses it. Static builds are unaffected.

#if defined(__GNUC__)  // GCC and clang (nvcc passes the pragmas to its host compiler)
#define BG_API_BEGIN _Pragma("GCC visibility push(default)")
#define BG_API_END _Pragma("GCC visibility pop")
#else
#define BG_API_BEGIN
#define BG_API_END
#endif
