// Chooses the copy of the CPU backend that this CPU can run (Note [One backend per instruction
// set], cpu/cpu_backend.h).
//
// A portable x86-64 build (BG_CPU_DISPATCH) has three copies; the features each requires are the
// ones its compiler flags enable (core/CMakeLists.txt), asked of the CPU, and the OS, by
// __builtin_cpu_supports. A BG_NATIVE build, or a build for another architecture, has one.

#include "cpu_dispatch.h"

#include <cstdlib>
#include <string>

#include "bg/core/error.h"

namespace bg::cpu {

#if defined(BG_CPU_DISPATCH)
namespace avx512 {
Backend& backend();
}
namespace avx2 {
Backend& backend();
}
namespace baseline {
Backend& backend();
}
#else
namespace BG_CPU_ISA {
Backend& backend();
}
#endif

namespace {

struct Level {
  const char* name;
  bool runs;  // whether this CPU can run it
  Backend& (*backend)();
};

struct Choice {
  const char* name;
  Backend* backend;
};

Choice choose() {
#if defined(BG_CPU_DISPATCH)
  __builtin_cpu_init();
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const bool avx512 = avx2 && __builtin_cpu_supports("avx512f") &&
                      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw") &&
                      __builtin_cpu_supports("avx512dq");
  // Best first.
  const Level levels[] = {{"avx512", avx512, avx512::backend},
                          {"avx2", avx2, avx2::backend},
                          {"baseline", true, baseline::backend}};
#else
#define BG_STRINGIFY_(x) #x
#define BG_STRINGIFY(x) BG_STRINGIFY_(x)
  const Level levels[] = {{BG_STRINGIFY(BG_CPU_ISA), true, BG_CPU_ISA::backend}};
#endif
  const char* variable = std::getenv("BG_CPU_KERNELS");
  const std::string wanted = variable == nullptr ? "" : variable;
  std::string built;
  for (const Level& level : levels) {
    if (wanted.empty() ? level.runs : wanted == level.name) {
      BG_CHECK(level.runs, "cpu backend", "BG_CPU_KERNELS=", wanted, " asks for kernels that ",
               "this CPU cannot run");
      return {level.name, &level.backend()};
    }
    built += built.empty() ? level.name : detail::concat(", ", level.name);
  }
  throw Error(detail::concat("cpu backend: BG_CPU_KERNELS=", wanted,
                             " names no kernels of this build (it has: ", built, ")"));
}

const Choice& chosen() {
  static const Choice choice = choose();
  return choice;
}

}  // namespace

Backend& dispatched_backend() { return *chosen().backend; }

}  // namespace bg::cpu

namespace bg {

const char* cpu_kernels() { return cpu::chosen().name; }

}  // namespace bg
