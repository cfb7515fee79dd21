// Data-parallel training over MPI (Open MPI from Debian): the process's MPI session and the
// Collective (train/collective.h) the trainer reduces its gradients with. This is the only part
// of simdnn that depends on MPI; core, layers and train do not.
//
//   int main(int argc, char** argv) {
//     simdnn::dist::MpiSession mpi(argc, argv);
//     simdnn::dist::MpiCollective ranks;
//     TrainerOptions options;
//     options.gradient_chunks = 8;     // the same K for every run to compare
//     options.collective = &ranks;      // rank r trains chunks [r·K/p, (r + 1)·K/p) of every batch
//     ...
//   }
//   mpirun -np 4 ./program            (p = 1, 2, 4, 8 give the same weights, bit for bit;
//                                      so do p = 3 and 6 with K = 12, or 1, 3 and 6 with K = 6...)
//
// Failures: a rank that cannot go on must not leave the others waiting in a reduction forever.
// MpiSession::abort() ends the whole job (MPI_Abort: mpirun then stops every rank and names the
// one that aborted); the session's destructor aborts too when it runs during stack unwinding
// (an exception leaving main's scope), and finalizes MPI otherwise. Catch an error, report it
// with the rank, then call abort(), as examples/data_parallel does.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <stdexcept>
#include <vector>

#include <simdnn/train/collective.h>

namespace simdnn::dist {

// An MPI call that failed (MPI's own error string in what()).
class MpiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// MPI for the life of the object: MPI_Init_thread and MPI_Finalize. It asks for
// MPI_THREAD_SERIALIZED (one thread at a time calls MPI: the trainer's background reduction or
// the main thread, never both; simdnn's worker threads never do); where the library offers less,
// the trainer reduces on the main thread after the backward pass. One per process; throws
// MpiError if MPI is already initialized or cannot start.
class MpiSession {
 public:
  MpiSession(int& argc, char**& argv);
  ~MpiSession();
  MpiSession(const MpiSession&) = delete;
  MpiSession& operator=(const MpiSession&) = delete;

  // This process's rank in MPI_COMM_WORLD, and the number of processes.
  std::size_t rank() const;
  std::size_t size() const;
  // Ends every process of the job with `code` (MPI_Abort); does not return.
  [[noreturn]] void abort(int code) const;

 private:
  int uncaught_at_start_;
};

// The processes of MPI_COMM_WORLD as a Collective (on its own duplicate of the communicator, so
// user messages never mix with the trainer's). Calls that fail throw MpiError.
class MpiCollective : public Collective {
 public:
  // Any number of processes (train/collective.h gives the order of the sum for each).
  MpiCollective();
  ~MpiCollective() override;
  MpiCollective(const MpiCollective&) = delete;
  MpiCollective& operator=(const MpiCollective&) = delete;

  std::size_t rank() const override { return rank_; }
  std::size_t size() const override { return size_; }
  // Recursive halving then doubling (reduce-scatter, then all-gather) within each power-of-two
  // run of ranks: with p a power of two each rank sends 2(p − 1)/p of the vector. Any other p
  // adds the runs' sums in turn and broadcasts the total. Every element is summed in the order
  // of train/collective.h.
  void tree_sum(std::span<float> values) override;
  void tree_sum(std::span<double> values) override;
  void broadcast(std::span<float> values) override;
  // True where MPI provides MPI_THREAD_SERIALIZED or more (MpiSession asks for it).
  bool background_calls() const override;
  // Waits for every rank (MPI_Barrier).
  void barrier();

 private:
  template <class T>
  void tree_sum_impl(std::span<T> values, std::vector<T>& scratch);
  template <class T>
  void run_tree_sum(std::span<T> values, std::vector<T>& scratch, std::size_t first, std::size_t size);
  template <class T>
  void broadcast_impl(std::span<T> values);
  template <class T>
  void receive_add(std::span<T> values, std::vector<T>& scratch, std::size_t from);
  template <class T>
  void send(std::span<const T> values, std::size_t piece, std::size_t to);

  struct Comm;                  // the MPI_Comm duplicate (mpi.h stays out of this header)
  std::unique_ptr<Comm> comm_;
  std::size_t rank_ = 0, size_ = 1;
  std::vector<float> float_scratch_;
  std::vector<double> double_scratch_;
};

}  // namespace simdnn::dist
