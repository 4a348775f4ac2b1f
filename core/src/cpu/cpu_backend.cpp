#include "cpu/cpu_backend.h"

namespace bg::cpu::BG_CPU_ISA {

Backend& backend() {
  static CpuBackend instance;
  return instance;
}

}  // namespace bg::cpu::BG_CPU_ISA
