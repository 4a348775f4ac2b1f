// CudaBackend::copy: copies that involve this backend, between the host and a GPU or between GPUs.
//
// The driver moves contiguous bytes; strides and dtype conversions are done by kernels on the GPU
// side (or by the CPU backend on the host side), so each case stages through a contiguous buffer
// when the tensors are not already contiguous with one dtype.

#include "bg/core/tensor_impl.h"
#include "cuda_backend.h"
#include "runtime.h"

namespace bg::cuda {

namespace {

size_t nbytes_of(const Tensor& t) {
  return static_cast<size_t>(t.numel()) * element_size(t.dtype());
}

bool plain(const Tensor& t, Dtype dtype) { return t.is_contiguous() && t.dtype() == dtype; }

// A contiguous host copy of `t` with `dtype` (t itself when it already is one).
Tensor host_contiguous(const Tensor& t, Dtype dtype) {
  if (plain(t, dtype)) return t;
  Tensor copy = empty_on(t.sizes(), dtype, Device::cpu());
  backend(DeviceType::CPU).copy(copy, t);
  return copy;
}

// A contiguous copy of the GPU tensor `t` with `dtype`, on t's device.
Tensor device_contiguous(const Tensor& t, Dtype dtype) {
  if (plain(t, dtype)) return t;
  Tensor copy = empty_on(t.sizes(), dtype, t.device());
  copy_on_device(copy, t);
  return copy;
}

void host_to_device(const Tensor& dst, const Tensor& src) {
  // Staged through pageable host memory: cudaMemcpyAsync returns once the bytes have left `host`,
  // so the temporary may be freed right after.
  const Tensor host = host_contiguous(src, src.dtype());
  const Tensor target =
      plain(dst, src.dtype()) ? dst : empty_on(dst.sizes(), src.dtype(), dst.device());
  use_device(dst.device(), "copy");
  check(cudaMemcpyAsync(target.impl()->data(), host.impl()->data(), nbytes_of(host),
                        cudaMemcpyHostToDevice, current_stream()),
        "copy to cuda");
  if (!target.is_same(dst)) copy_on_device(dst, target);
}

void device_to_host(const Tensor& dst, const Tensor& src) {
  use_device(src.device(), "copy");
  const Tensor staged = device_contiguous(src, dst.dtype());
  const Tensor host =
      plain(dst, dst.dtype()) ? dst : empty_on(dst.sizes(), dst.dtype(), Device::cpu());
  use_device(src.device(), "copy");
  check(cudaMemcpyAsync(host.impl()->data(), staged.impl()->data(), nbytes_of(staged),
                        cudaMemcpyDeviceToHost, current_stream()),
        "copy to cpu");
  // The host reads the bytes next: wait for them (this is how item() and to(kCPU) synchronize).
  sync_current_stream("copy to cpu");
  if (!host.is_same(dst)) backend(DeviceType::CPU).copy(dst, host);
}

void device_to_device(const Tensor& dst, const Tensor& src) {
  // Between two GPUs: the source, made contiguous on its own device, is finished before the copy
  // (which runs on the destination's stream) reads it.
  use_device(src.device(), "copy");
  const Tensor staged = device_contiguous(src, src.dtype());
  sync_current_stream("copy between cuda devices");
  const Tensor target =
      plain(dst, src.dtype()) ? dst : empty_on(dst.sizes(), src.dtype(), dst.device());
  use_device(dst.device(), "copy");
  check(cudaMemcpyPeerAsync(target.impl()->data(), dst.device().index, staged.impl()->data(),
                            src.device().index, nbytes_of(staged), current_stream()),
        "copy between cuda devices");
  // `staged` may be a temporary that goes back to the source device's allocator on return, for
  // reuse by work on that device's stream: the copy must be done reading it first.
  sync_current_stream("copy between cuda devices");
  if (!target.is_same(dst)) copy_on_device(dst, target);
}

}  // namespace

void CudaBackend::copy(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  if (dst.device() == src.device()) return copy_on_device(dst, src);
  if (src.device().is_cpu()) return host_to_device(dst, src);
  if (dst.device().is_cpu()) return device_to_host(dst, src);
  device_to_device(dst, src);
}

}  // namespace bg::cuda
