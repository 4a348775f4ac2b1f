#include "agree.h"

#include <array>
#include <sstream>
#include <string>
#include <vector>

#include "bg/dist/collectives.h"

namespace bg::dist::detail {
namespace {

// One rank's call, as fixed-size integers so that a single MPI_Allgather exchanges it.
enum Field : size_t {
  kKind,
  kArgument,
  kDtype,
  kDeviceType,
  kDeviceIndex,
  kNeedsGrad,
  kDims,
  kSizes
};
constexpr size_t kRecordSize = kSizes + static_cast<size_t>(kMaxDims);
using Record = std::array<int64_t, kRecordSize>;
constexpr int64_t kUndefined = -1;  // the dtype field of an undefined tensor

Record record_of(const Call& call, const Tensor& t) {
  Record r{};
  r[kKind] = static_cast<int64_t>(call.kind);
  r[kArgument] = call.argument;
  if (!t.defined()) {
    r[kDtype] = kUndefined;
    return r;
  }
  r[kDtype] = static_cast<int64_t>(t.dtype());
  r[kDeviceType] = static_cast<int64_t>(t.device().type);
  r[kDeviceIndex] = t.device().index;
  r[kNeedsGrad] = call.in_place && t.requires_grad() && GradMode::is_enabled();
  r[kDims] = t.dim();
  for (int64_t d = 0; d < t.dim(); ++d) r[kSizes + static_cast<size_t>(d)] = t.sizes()[d];
  return r;
}

const char* reduce_name(int64_t op) {
  switch (static_cast<ReduceOp>(op)) {
    case ReduceOp::Sum:
      return "sum";
    case ReduceOp::Mean:
      return "mean";
    case ReduceOp::Max:
      return "max";
  }
  return "?";
}

Device device_of(const Record& r) {
  return Device(static_cast<DeviceType>(r[kDeviceType]), static_cast<int16_t>(r[kDeviceIndex]));
}

// Whether two ranks made the same call. The device index is left out: with one GPU per rank, the
// ranks on one machine pass tensors on different GPUs (cuda:0, cuda:1) to the same collective.
bool same_call(Record a, Record b) {
  a[kDeviceIndex] = b[kDeviceIndex] = 0;
  return a == b;
}

// "all_reduce(sum) of float32 [2, 3] on cpu"
std::string describe_record(const Record& r) {
  std::ostringstream out;
  switch (static_cast<Call::Kind>(r[kKind])) {
    case Call::Kind::AllReduce:
      out << "all_reduce(" << reduce_name(r[kArgument]) << ")";
      break;
    case Call::Kind::Broadcast:
      out << "broadcast(root " << r[kArgument] << ")";
      break;
    case Call::Kind::AllGather:
      out << "all_gather";
      break;
    case Call::Kind::ReduceScatter:
      out << "reduce_scatter(" << reduce_name(r[kArgument]) << ")";
      break;
  }
  if (r[kDtype] == kUndefined) {
    out << " of an undefined tensor";
    return out.str();
  }
  Shape sizes;
  for (int64_t d = 0; d < r[kDims]; ++d) sizes.push_back(r[kSizes + static_cast<size_t>(d)]);
  out << " of " << dtype_name(static_cast<Dtype>(r[kDtype])) << " " << shape_str(sizes) << " on "
      << device_of(r).str();
  if (r[kNeedsGrad]) out << " requiring grad";
  return out.str();
}

}  // namespace

void agree(MPI_Comm comm, const char* op, const Call& call, const Tensor& t) {
  int size = 0, rank = 0;
  MPI_Comm_size(comm, &size);
  MPI_Comm_rank(comm, &rank);
  const Record mine = record_of(call, t);
  std::vector<Record> all(static_cast<size_t>(size));
  check_mpi(MPI_Allgather(mine.data(), kRecordSize, MPI_INT64_T, all.data(), kRecordSize,
                          MPI_INT64_T, comm),
            op, "MPI_Allgather (comparing the ranks' tensors)");

  // Name rank 0 and at most a few of the ranks that differ from it: enough to see the mistake.
  std::ostringstream differ;
  int differing = 0;
  for (int r = 1; r < size; ++r) {
    if (same_call(all[static_cast<size_t>(r)], all[0])) continue;
    if (++differing <= 4)
      differ << "; rank " << r << " called " << describe_record(all[static_cast<size_t>(r)]);
  }
  BG_CHECK(differing == 0, op, "the ranks disagree, so no data was exchanged: rank 0 called ",
           describe_record(all[0]), differ.str(), differing > 4 ? " (and more)" : "",
           ". Every rank must call the same collectives in the same order, with tensors of the "
           "same shape, dtype and device (this is rank ",
           rank, " of ", size, ")");

  // Every rank holds the same record now: these checks agree across ranks.
  BG_CHECK(mine[kDtype] != kUndefined, op, "the tensor is undefined (on every rank)");
  BG_CHECK(!mine[kNeedsGrad], op, "an in-place collective cannot write into ", describe(t),
           ", which requires grad, while grad mode is on; wrap it in a NoGradGuard");
}

}  // namespace bg::dist::detail
