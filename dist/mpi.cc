#include <simdnn/dist/mpi.h>

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <string>
#include <utility>

#include <simdnn/core/denormals.h>

namespace simdnn::dist {
namespace {

void check(int code, const char* call) {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw MpiError(std::string(call) + " failed: " + std::string(text, static_cast<std::size_t>(length)));
}

template <class T>
MPI_Datatype datatype();
template <>
MPI_Datatype datatype<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype datatype<double>() { return MPI_DOUBLE; }

// Reductions exchange and add a vector in pieces of this many bytes, so each received piece is
// still in cache when it is added (and MPI's int counts are never exceeded).
constexpr std::size_t kPieceBytes = std::size_t{256} << 10;
// Broadcasts go in pieces of at most this many elements (MPI counts are ints).
constexpr std::size_t kMaxCount = std::size_t{1} << 30;

}  // namespace

struct MpiCollective::Comm {
  MPI_Comm comm = MPI_COMM_NULL;
};

MpiSession::MpiSession(int& argc, char**& argv) : uncaught_at_start_(std::uncaught_exceptions()) {
  int initialized = 0;
  check(MPI_Initialized(&initialized), "MPI_Initialized");
  if (initialized) throw MpiError("MpiSession: MPI is already initialized, expected one session per process");
  int provided = 0;
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided), "MPI_Init_thread");
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

MpiSession::~MpiSession() {
  if (std::uncaught_exceptions() > uncaught_at_start_) MPI_Abort(MPI_COMM_WORLD, 1);
  MPI_Finalize();
}

std::size_t MpiSession::rank() const {
  int r = 0;
  check(MPI_Comm_rank(MPI_COMM_WORLD, &r), "MPI_Comm_rank");
  return static_cast<std::size_t>(r);
}

std::size_t MpiSession::size() const {
  int n = 0;
  check(MPI_Comm_size(MPI_COMM_WORLD, &n), "MPI_Comm_size");
  return static_cast<std::size_t>(n);
}

void MpiSession::abort(int code) const {
  MPI_Abort(MPI_COMM_WORLD, code);
  std::terminate();  // MPI_Abort does not return; this is for the compiler
}

MpiCollective::MpiCollective() : comm_(std::make_unique<Comm>()) {
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_->comm), "MPI_Comm_dup");
  MPI_Comm_set_errhandler(comm_->comm, MPI_ERRORS_RETURN);
  int r = 0, n = 0;
  check(MPI_Comm_rank(comm_->comm, &r), "MPI_Comm_rank");
  check(MPI_Comm_size(comm_->comm, &n), "MPI_Comm_size");
  rank_ = static_cast<std::size_t>(r);
  size_ = static_cast<std::size_t>(n);
}

MpiCollective::~MpiCollective() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_->comm != MPI_COMM_NULL) MPI_Comm_free(&comm_->comm);
}

// Recursive halving, then recursive doubling (Rabenseifner's allreduce), within this rank's run
// of ranks (rank_group(): all of them when their number is a power of two): in round i of the
// first phase, run member r and its partner r xor 2^i split their current segment in two; each
// keeps one half, sends the other, and adds the partner's copy of the half it keeps. After
// log2 of the run's size rounds each member holds its share of the vector fully summed, and the
// second phase gathers the segments back in the reverse order. Every element is summed as
// S(group) + S(neighbouring group) with groups of 2^i ranks in round i: the tree of
// train/collective.h, so the bits are those of recursive doubling (on every rank, since addition
// commutes), while each rank sends 2(q − 1)/q of the vector (q the run's size) instead of log2(q)
// times it.
template <class T>
void MpiCollective::run_tree_sum(std::span<T> values, std::vector<T>& scratch, std::size_t first, std::size_t size) {
  const std::size_t piece = kPieceBytes / sizeof(T);
  const std::size_t local = rank_ - first;
  std::vector<std::pair<std::size_t, std::size_t>> segments;  // [lo, hi) before each round
  std::size_t lo = 0, hi = values.size();
  for (std::size_t step = 1; step < size; step *= 2) {
    const int partner = static_cast<int>(first + (local ^ step));
    const std::size_t mid = lo + (hi - lo) / 2;
    const bool lower = (local & step) == 0;
    const std::size_t keep = lower ? lo : mid, keep_end = lower ? mid : hi;
    const std::size_t give = lower ? mid : lo;
    segments.emplace_back(lo, hi);
    // The halves may differ by one element; both partners walk the longer one piece by piece.
    const std::size_t kept = keep_end - keep, given = (hi - lo) - kept;
    for (std::size_t at = 0; at < std::max(kept, given); at += piece) {
      const std::size_t mine = std::min(piece, kept - std::min(at, kept));
      const std::size_t theirs = std::min(piece, given - std::min(at, given));
      check(MPI_Sendrecv(values.data() + give + at, static_cast<int>(theirs), datatype<T>(), partner, 0, scratch.data(),
                         static_cast<int>(mine), datatype<T>(), partner, 0, comm_->comm, MPI_STATUS_IGNORE),
            "MPI_Sendrecv");
      for (std::size_t i = 0; i < mine; ++i) values[keep + at + i] += scratch[i];
    }
    lo = keep, hi = keep_end;
  }
  for (std::size_t round = segments.size(); round-- > 0;) {
    const int partner = static_cast<int>(first + (local ^ (std::size_t{1} << round)));
    const auto [seg_lo, seg_hi] = segments[round];
    // the partner holds the rest of [seg_lo, seg_hi): before lo or after hi
    const std::size_t other = lo == seg_lo ? hi : seg_lo;
    const std::size_t other_len = (seg_hi - seg_lo) - (hi - lo);
    for (std::size_t at = 0; at < std::max(hi - lo, other_len); at += kMaxCount) {
      const std::size_t send = std::min(kMaxCount, (hi - lo) - std::min(at, hi - lo));
      const std::size_t recv = std::min(kMaxCount, other_len - std::min(at, other_len));
      check(MPI_Sendrecv(values.data() + lo + at, static_cast<int>(send), datatype<T>(), partner, 1,
                         values.data() + other + at, static_cast<int>(recv), datatype<T>(), partner, 1, comm_->comm,
                         MPI_STATUS_IGNORE),
            "MPI_Sendrecv");
    }
    lo = seg_lo, hi = seg_hi;
  }
}

// values += rank `from`'s vector, received in pieces of scratch's size (tag 2).
template <class T>
void MpiCollective::receive_add(std::span<T> values, std::vector<T>& scratch, std::size_t from) {
  const std::size_t piece = std::max<std::size_t>(scratch.size(), 1);
  for (std::size_t at = 0; at < values.size(); at += piece) {
    const std::size_t n = std::min(piece, values.size() - at);
    check(MPI_Recv(scratch.data(), static_cast<int>(n), datatype<T>(), static_cast<int>(from), 2, comm_->comm,
                   MPI_STATUS_IGNORE),
          "MPI_Recv");
    for (std::size_t i = 0; i < n; ++i) values[at + i] += scratch[i];
  }
}

// Sends values to rank `to` in the pieces receive_add() expects.
template <class T>
void MpiCollective::send(std::span<const T> values, std::size_t piece, std::size_t to) {
  for (std::size_t at = 0; at < values.size(); at += piece) {
    const std::size_t n = std::min(piece, values.size() - at);
    check(MPI_Send(values.data() + at, static_cast<int>(n), datatype<T>(), static_cast<int>(to), 2, comm_->comm),
          "MPI_Send");
  }
}

// Any number of ranks: each run's tree sum (above), then the runs' sums added smallest first,
// T1 + (T2 + (... + T_last)): the first rank of each run after the first sends its run's
// partial total (its own run's sum plus those after it) to the first rank of the run before;
// rank 0 ends with the total and broadcasts it. The runs number at most log2(p) + 1, so the
// partial totals make at most log2(p) messages in turn, each in pieces added as they come.
template <class T>
void MpiCollective::tree_sum_impl(std::span<T> values, std::vector<T>& scratch) {
  scratch.resize(std::min(values.size(), kPieceBytes / sizeof(T)));
  const RankGroup mine = rank_group(size_, rank_);
  run_tree_sum(values, scratch, mine.first, mine.size);
  if (mine.size == size_) return;
  if (rank_ == mine.first) {
    const std::size_t next = mine.first + mine.size;  // the first rank of the next run
    if (next < size_) receive_add(values, scratch, next);
    if (mine.first > 0) {
      send<T>(values, std::max<std::size_t>(scratch.size(), 1), rank_group(size_, mine.first - 1).first);
    }
  }
  broadcast_impl(values);
}

void MpiCollective::tree_sum(std::span<float> values) {
  // The ranks' float sums follow the denormal policy, as the chunks' sums within a rank do
  // (core/pairwise_sum.h, gemm_depth_chunks): the same bits for every rank count either way.
  const internal::DenormalScope denormals;
  tree_sum_impl(values, float_scratch_);
}
void MpiCollective::tree_sum(std::span<double> values) { tree_sum_impl(values, double_scratch_); }

template <class T>
void MpiCollective::broadcast_impl(std::span<T> values) {
  for (std::size_t begin = 0; begin < values.size(); begin += kMaxCount) {
    const int count = static_cast<int>(std::min(kMaxCount, values.size() - begin));
    check(MPI_Bcast(values.data() + begin, count, datatype<T>(), 0, comm_->comm), "MPI_Bcast");
  }
}

void MpiCollective::broadcast(std::span<float> values) { broadcast_impl(values); }

bool MpiCollective::background_calls() const {
  int provided = MPI_THREAD_SINGLE;
  MPI_Query_thread(&provided);
  return provided >= MPI_THREAD_SERIALIZED;
}

void MpiCollective::barrier() { check(MPI_Barrier(comm_->comm), "MPI_Barrier"); }

}  // namespace simdnn::dist
