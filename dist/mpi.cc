#include <simdnn/dist/mpi.h>

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <exception>
#include <string>

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

// MPI counts are ints: vectors go in pieces of at most this many elements.
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
  check(MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
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
  if ((size_ & (size_ - 1)) != 0) {
    MPI_Comm_free(&comm_->comm);
    throw std::invalid_argument("MpiCollective: " + std::to_string(size_) +
                                " processes, expected a power of two (1, 2, 4, 8, ...)");
  }
}

MpiCollective::~MpiCollective() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized && comm_->comm != MPI_COMM_NULL) MPI_Comm_free(&comm_->comm);
}

template <class T>
void MpiCollective::tree_sum_impl(std::span<T> values, std::vector<T>& scratch) {
  scratch.resize(std::min(values.size(), kMaxCount));
  for (std::size_t step = 1; step < size_; step *= 2) {
    const int partner = static_cast<int>(rank_ ^ step);
    for (std::size_t begin = 0; begin < values.size(); begin += kMaxCount) {
      const int count = static_cast<int>(std::min(kMaxCount, values.size() - begin));
      check(MPI_Sendrecv(values.data() + begin, count, datatype<T>(), partner, 0, scratch.data(), count,
                         datatype<T>(), partner, 0, comm_->comm, MPI_STATUS_IGNORE),
            "MPI_Sendrecv");
      // lower group + upper group; addition commutes, so both partners get the same bits
      for (int i = 0; i < count; ++i) values[begin + i] += scratch[i];
    }
  }
}

void MpiCollective::tree_sum(std::span<float> values) { tree_sum_impl(values, float_scratch_); }
void MpiCollective::tree_sum(std::span<double> values) { tree_sum_impl(values, double_scratch_); }

void MpiCollective::broadcast(std::span<float> values) {
  for (std::size_t begin = 0; begin < values.size(); begin += kMaxCount) {
    const int count = static_cast<int>(std::min(kMaxCount, values.size() - begin));
    check(MPI_Bcast(values.data() + begin, count, MPI_FLOAT, 0, comm_->comm), "MPI_Bcast");
  }
}

void MpiCollective::barrier() { check(MPI_Barrier(comm_->comm), "MPI_Barrier"); }

}  // namespace simdnn::dist
