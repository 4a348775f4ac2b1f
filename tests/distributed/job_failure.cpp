// A job that must end with an error, never hang (run by tests/expect_exit.cmake under mpirun):
//   job_failure uncaught   rank 1 throws while rank 0 waits in a barrier: the exception escapes
//                          main, and the whole job is aborted with its message;
//   job_failure shape      the ranks pass tensors of different shapes to all_reduce: every rank
//                          throws the error naming both shapes, and nobody catches it.

#include <bg/dist.h>

#include <cstring>
#include <stdexcept>

int main(int argc, char** argv) {
  bg::dist::init();
  const bool shape = argc > 1 && std::strcmp(argv[1], "shape") == 0;
  if (shape) {
    bg::dist::all_reduce(bg::dist::rank() == 0 ? bg::zeros({2, 3}) : bg::zeros({4}));
  } else if (bg::dist::rank() == 1) {
    throw std::runtime_error("rank 1 failed on purpose");
  }
  bg::dist::barrier();  // rank 0 would wait here forever if rank 1's exception did not end the job
  return 0;
}
