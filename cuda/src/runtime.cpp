#include "runtime.h"

#include <memory>
#include <mutex>
#include <vector>

#include "bg/core/error.h"
#include "bg/cuda/stream.h"
#include "cublas_library.h"

namespace bg::cuda {

void check(cudaError_t status, const char* op) {
  if (status == cudaSuccess) return;
  throw Error(bg::detail::concat(op, ": CUDA error: ", cudaGetErrorString(status), " (",
                                 cudaGetErrorName(status), ")"));
}

void check_blas(cublasStatus_t status, const char* op) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw Error(bg::detail::concat(op, ": cuBLAS error: ", cublas().status_string(status), " (",
                                 cublas().status_name(status), ")"));
}

void check_launch(const char* op) { check(cudaGetLastError(), op); }

int visible_devices() {
  // Asked once: the answer does not change while the process runs, and the query is not free.
  static const int count = [] {
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
      cudaGetLastError();  // no driver or no device: not an error for this question
      return 0;
    }
    return n;
  }();
  return count;
}

namespace {

// A device's stream and cuBLAS handle, created on its first use and kept for the process's life.
struct DeviceQueue {
  std::once_flag created;
  cudaStream_t stream = nullptr;
  cublasHandle_t blas = nullptr;
};

DeviceQueue& queue_of(int index) {
  // Never destroyed: destroying streams during static destruction races with the driver's own
  // teardown, and the process is ending anyway.
  static auto* queues = [] {
    auto* q = new std::vector<std::unique_ptr<DeviceQueue>>();
    for (int i = 0; i < visible_devices(); ++i) q->push_back(std::make_unique<DeviceQueue>());
    return q;
  }();
  DeviceQueue& queue = *(*queues)[static_cast<size_t>(index)];
  std::call_once(queue.created, [&] {
    // Non-blocking: the stream does not wait for work other libraries queue on the legacy
    // default stream (and theirs does not wait for ours).
    check(cudaStreamCreateWithFlags(&queue.stream, cudaStreamNonBlocking), "cuda stream");
    check_blas(cublas().create(&queue.blas), "cublas");
    check_blas(cublas().set_stream(queue.blas, queue.stream), "cublas");
  });
  return queue;
}

// The device this thread last made current through use_device(): cudaSetDevice is skipped when it
// would change nothing (it is called before every op).
thread_local int current_index = -1;

}  // namespace

void use_device(Device device, const char* op) {
  BG_CHECK(device.is_cuda() && device.index >= 0 && device.index < visible_devices(), op,
           device.str(), " is not available (", visible_devices(), " CUDA devices visible)");
  if (device.index != current_index) {
    check(cudaSetDevice(device.index), op);
    current_index = device.index;
  }
  queue_of(current_index);  // created before first use, so the accessors below can skip checks
}

cudaStream_t current_stream() { return queue_of(current_index).stream; }

cublasHandle_t current_blas() { return queue_of(current_index).blas; }

cudaStream_t device_stream(Device device, const char* op) {
  use_device(device, op);
  return current_stream();
}

void sync_current_stream(const char* op) { check(cudaStreamSynchronize(current_stream()), op); }

}  // namespace bg::cuda
