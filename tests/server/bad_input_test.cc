// Bad input, table-driven, against the real in-process gRPC server: every
// RPC with malformed and extreme fields (unknown and invalid pids, zero and
// "negative as unsigned" lengths, unaligned and top-of-address-space
// addresses, addr + len overflow, unknown flag bits, invalid enums, missing
// fields, max_map_count, RLIMIT_AS / RLIMIT_MEMLOCK, frame exhaustion).
// Each case asserts three things: the gRPC code and the errno (trailers),
// the server still answers, and the target mm is unchanged (GetMm, maps and
// smaps text compared whole) or changed exactly as Linux changes it. The
// expected errnos are Linux 6.x's (checked against the host kernel: an
// unprivileged process, vm.mmap_min_addr 65536 as the simulator's default).
// The same table then runs through Batch: each per-op status and reply must
// equal the unary one, and the mm must end up the same.
#include <cerrno>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/linux_error.h"
#include "gtest/gtest.h"
#include "tests/server/server_fixture.h"

namespace mmsim::server::testing {
namespace {

constexpr uint64_t kPage = kPageSize;
constexpr uint64_t kHuge = ~uint64_t{0};            // (size_t)-1
constexpr uint64_t kMinus4k = ~uint64_t{0} - 4095;  // (size_t)-4096
constexpr uint64_t kTop = 0xfffffffffffff000;       // last page of 2^64
constexpr uint64_t kHole = kBase + 20 * kPage;  // in the hole between regions
constexpr int kNoPid = 999999;

// --- op builders (valid unless the case says otherwise) ---

Op Mmap(int pid, uint64_t addr, uint64_t len, int prot, int flags) {
  Op op;
  v1::MmapRequest* r = op.mutable_mmap();
  r->set_pid(pid);
  r->set_addr(addr);
  r->set_len(len);
  r->set_prot(prot);
  r->set_flags(flags);
  return op;
}
Op Munmap(int pid, uint64_t addr, uint64_t len) {
  Op op;
  op.mutable_munmap()->set_pid(pid);
  op.mutable_munmap()->set_addr(addr);
  op.mutable_munmap()->set_len(len);
  return op;
}
Op Mprotect(int pid, uint64_t addr, uint64_t len, int prot) {
  Op op;
  op.mutable_mprotect()->set_pid(pid);
  op.mutable_mprotect()->set_addr(addr);
  op.mutable_mprotect()->set_len(len);
  op.mutable_mprotect()->set_prot(prot);
  return op;
}
Op Mremap(int pid, uint64_t old_addr, uint64_t old_len, uint64_t new_len,
          int flags, uint64_t new_addr = 0) {
  Op op;
  v1::MremapRequest* r = op.mutable_mremap();
  r->set_pid(pid);
  r->set_old_addr(old_addr);
  r->set_old_len(old_len);
  r->set_new_len(new_len);
  r->set_flags(flags);
  r->set_new_addr(new_addr);
  return op;
}
Op Brk(int pid, uint64_t brk) {
  Op op;
  op.mutable_brk()->set_pid(pid);
  op.mutable_brk()->set_brk(brk);
  return op;
}
Op Mlock(int pid, uint64_t addr, uint64_t len, int flags = 0) {
  Op op;
  op.mutable_mlock()->set_pid(pid);
  op.mutable_mlock()->set_addr(addr);
  op.mutable_mlock()->set_len(len);
  op.mutable_mlock()->set_flags(flags);
  return op;
}
Op Munlock(int pid, uint64_t addr, uint64_t len) {
  Op op;
  op.mutable_munlock()->set_pid(pid);
  op.mutable_munlock()->set_addr(addr);
  op.mutable_munlock()->set_len(len);
  return op;
}
Op Mlockall(int pid, int flags) {
  Op op;
  op.mutable_mlockall()->set_pid(pid);
  op.mutable_mlockall()->set_flags(flags);
  return op;
}
Op Madvise(int pid, uint64_t addr, uint64_t len, int advice) {
  Op op;
  op.mutable_madvise()->set_pid(pid);
  op.mutable_madvise()->set_addr(addr);
  op.mutable_madvise()->set_len(len);
  op.mutable_madvise()->set_advice(advice);
  return op;
}
Op Touch(int pid, uint64_t addr, int access) {
  Op op;
  op.mutable_touch()->set_pid(pid);
  op.mutable_touch()->set_addr(addr);
  op.mutable_touch()->set_access(static_cast<v1::FaultAccess>(access));
  return op;
}
Op Mincore(int pid, uint64_t start, uint64_t len) {
  Op op;
  op.mutable_mincore()->set_pid(pid);
  op.mutable_mincore()->set_start(start);
  op.mutable_mincore()->set_len(len);
  return op;
}
Op FindVma(int pid, uint64_t addr, int mode) {
  Op op;
  op.mutable_find_vma()->set_pid(pid);
  op.mutable_find_vma()->set_addr(addr);
  op.mutable_find_vma()->set_mode(static_cast<v1::FindMode>(mode));
  return op;
}
Op UnmappedArea(int pid, uint64_t len, const std::string& file = "") {
  Op op;
  op.mutable_get_unmapped_area()->set_pid(pid);
  op.mutable_get_unmapped_area()->set_len(len);
  op.mutable_get_unmapped_area()->set_file(file);
  return op;
}
Op SetRlimit(int pid, int resource, uint64_t cur, uint64_t max,
             bool with_limit = true) {
  Op op;
  v1::SetRlimitRequest* r = op.mutable_set_rlimit();
  r->set_pid(pid);
  r->set_resource(static_cast<v1::RlimitResource>(resource));
  if (with_limit) {
    r->mutable_limit()->set_cur(cur);
    r->mutable_limit()->set_max(max);
  }
  return op;
}
Op Clone(int pid, int flags) {
  Op op;
  op.mutable_clone()->set_pid(pid);
  op.mutable_clone()->set_flags(flags);
  return op;
}
Op Exec(int pid, bool with_image) {
  Op op;
  op.mutable_exec()->set_pid(pid);
  if (with_image) op.mutable_exec()->mutable_image();
  return op;
}
Op Schedule(int cpu, int pid) {
  Op op;
  op.mutable_schedule()->set_cpu(cpu);
  op.mutable_schedule()->set_pid(pid);
  return op;
}

// A valid op of every kind Batch carries, on `pid` (for the pid cases).
std::vector<std::pair<std::string, Op>> EveryKind(int pid) {
  std::vector<std::pair<std::string, Op>> out = {
      {"Mmap", Mmap(pid, 0, kPage, kRw, kAnon)},
      {"Munmap", Munmap(pid, kBase, kPage)},
      {"Mprotect", Mprotect(pid, kBase, kPage, kProtRead)},
      {"Mremap", Mremap(pid, kBase, kPage, kPage, 0)},
      {"Brk", Brk(pid, 0)},
      {"Mlock", Mlock(pid, kBase, kPage)},
      {"Munlock", Munlock(pid, kBase, kPage)},
      {"Mlockall", Mlockall(pid, kMclCurrent)},
      {"Madvise", Madvise(pid, kBase, kPage, kMadvNormal)},
      {"Touch", Touch(pid, kBase, v1::FAULT_ACCESS_READ)},
      {"Mincore", Mincore(pid, kBase, kPage)},
      {"FindVma", FindVma(pid, kBase, v1::FIND_VMA)},
      {"GetUnmappedArea", UnmappedArea(pid, kPage)},
      {"SetRlimit", SetRlimit(pid, v1::RLIMIT_RESOURCE_AS, 1, 1)},
      {"Clone", Clone(pid, 0)},
      {"Exec", Exec(pid, true)},
      {"Schedule", Schedule(0, pid)},
  };
  Op op;
  op.mutable_munlockall()->set_pid(pid);
  out.push_back({"Munlockall", op});
  op.mutable_get_mm()->set_pid(pid);
  out.push_back({"GetMm", op});
  op.mutable_list_vmas()->set_pid(pid);
  out.push_back({"ListVmas", op});
  op.mutable_get_maps()->set_pid(pid);
  out.push_back({"GetMaps", op});
  op.mutable_get_smaps()->set_pid(pid);
  out.push_back({"GetSmaps", op});
  op.mutable_get_status()->set_pid(pid);
  out.push_back({"GetStatus", op});
  op.mutable_fork()->set_pid(pid);
  out.push_back({"Fork", op});
  op.mutable_exit()->set_pid(pid);
  out.push_back({"Exit", op});
  op.mutable_remove_process()->set_pid(pid);
  out.push_back({"RemoveProcess", op});
  return out;
}

// How the mm must look after a case: `before` is the snapshot before it.
using Expect =
    std::function<void(client::MmClient* c, int pid, const Snapshot& before,
                       const Snapshot& after)>;

struct Case {
  Case(std::string name, std::function<Op(int pid)> op, grpc::StatusCode code,
       int err, v1::MmConfig config = v1::MmConfig(),
       std::vector<Op> prepare = {}, Expect expect = nullptr)
      : name(std::move(name)),
        op(std::move(op)),
        code(code),
        err(err),
        config(std::move(config)),
        prepare(std::move(prepare)),
        expect(std::move(expect)) {}

  std::string name;
  std::function<Op(int pid)> op;
  grpc::StatusCode code;
  int err;                  // 0: the call succeeds
  v1::MmConfig config;      // limits of the target process
  std::vector<Op> prepare;  // run (unary, must succeed) before `before`
  Expect expect;            // null: unchanged
};

v1::MmConfig MaxMapCount(int n) {
  v1::MmConfig c;
  c.set_max_map_count(n);
  return c;
}

// The standard process has the 7 regions of the exec layout plus 2.
constexpr int kStandardMapCount = 9;

void ExpectUnchanged(client::MmClient*, int, const Snapshot& before,
                     const Snapshot& after) {
  EXPECT_TRUE(SameSnapshot(before, after)) << "before:\n"
                                           << Describe(before) << "after:\n"
                                           << Describe(after);
}

// One more region of `pages` pages, nothing else in the counters.
Expect OneMoreRegion(uint64_t pages) {
  return [pages](client::MmClient*, int, const Snapshot& before,
                 const Snapshot& after) {
    EXPECT_EQ(after.mm.map_count(), before.mm.map_count() + 1);
    EXPECT_EQ(after.mm.total_vm(), before.mm.total_vm() + pages);
    EXPECT_EQ(after.mm.pages().rss_anon(), before.mm.pages().rss_anon());
  };
}

std::vector<Case> Cases() {
  using C = grpc::StatusCode;
  const C kInval = C::INVALID_ARGUMENT;
  const C kNomem = C::RESOURCE_EXHAUSTED;
  std::vector<Case> cases;
  auto add = [&cases](Case c) { cases.push_back(std::move(c)); };

  // --- pids: missing (0), negative, unknown, for every kind of op ---
  for (const auto& [kind, unused] : EveryKind(1)) {
    const std::string k = kind;
    auto with_pid = [k](int pid) {
      for (auto& [name, op] : EveryKind(pid)) {
        if (name == k) return op;
      }
      return Op();
    };
    // Schedule: pid 0 is the idle task, not a missing field.
    if (k != "Schedule")
      add({k + "/pid0", [=](int) { return with_pid(0); }, kInval, EINVAL});
    add({k + "/pid-1", [=](int) { return with_pid(-1); }, kInval, EINVAL});
    add({k + "/unknown_pid", [=](int) { return with_pid(kNoPid); },
         C::NOT_FOUND, ESRCH});
    add({k + "/pid_int_max", [=](int) { return with_pid(0x7fffffff); },
         C::NOT_FOUND, ESRCH});
  }

  // --- mmap ---
  add({"Mmap/len0", [](int p) { return Mmap(p, 0, 0, kRw, kAnon); }, kInval,
       EINVAL});
  add({"Mmap/len_huge", [](int p) { return Mmap(p, 0, kHuge, kRw, kAnon); },
       kNomem, ENOMEM});
  add({"Mmap/len_minus_4k",
       [](int p) { return Mmap(p, 0, kMinus4k, kRw, kAnon); }, kNomem, ENOMEM});
  add({"Mmap/len_2^63",
       [](int p) { return Mmap(p, 0, uint64_t{1} << 63, kRw, kAnon); }, kNomem,
       ENOMEM});
  add({"Mmap/fixed_unaligned",
       [](int p) { return Mmap(p, kHole + 1, kPage, kRw, kAnon | kMapFixed); },
       kInval, EINVAL});
  add({"Mmap/fixed_top_page",
       [](int p) { return Mmap(p, kTop, kPage, kRw, kAnon | kMapFixed); },
       kNomem, ENOMEM});
  add({"Mmap/fixed_across_task_size",
       [](int p) {
         return Mmap(p, kTaskSize - kPage, 2 * kPage, kRw, kAnon | kMapFixed);
       },
       kNomem, ENOMEM});
  add({"Mmap/fixed_addr_plus_len_wraps",
       [](int p) {
         return Mmap(p, kHole, uint64_t{0} - kHole, kRw, kAnon | kMapFixed);
       },
       kNomem, ENOMEM});
  add({"Mmap/fixed_below_mmap_min_addr",
       [](int p) { return Mmap(p, 0x1000, kPage, kRw, kAnon | kMapFixed); },
       C::PERMISSION_DENIED, EPERM});
  add({"Mmap/fixed_noreplace_over_region",
       [](int p) {
         return Mmap(p, kBase, kPage, kRw, kAnon | kMapFixedNoreplace);
       },
       C::ALREADY_EXISTS, EEXIST});
  add({"Mmap/neither_shared_nor_private",
       [](int p) { return Mmap(p, 0, kPage, kRw, kMapAnonymous); }, kInval,
       EINVAL});
  add({"Mmap/anon_shared_validate_unknown_bit",
       [](int p) {
         return Mmap(p, 0, kPage, kRw,
                     kMapSharedValidate | kMapAnonymous | 0x800000);
       },
       kInval, EINVAL});
  add({"Mmap/no_file_no_anonymous",
       [](int p) { return Mmap(p, 0, kPage, kRw, kMapPrivate); },
       C::FAILED_PRECONDITION, EBADF});
  add({"Mmap/unknown_file",
       [](int p) {
         Op op = Mmap(p, 0, kPage, kProtRead, kMapPrivate);
         op.mutable_mmap()->set_file("/no/such/file");
         return op;
       },
       C::NOT_FOUND, ENOENT});
  add({"Mmap/invalid_open_mode_enum",
       [](int p) {
         Op op = Mmap(p, 0, kPage, kRw, kAnon);
         op.mutable_mmap()->set_open_mode(static_cast<v1::OpenMode>(99));
         return op;
       },
       kInval, EINVAL});
  // Linux ignores unknown flag bits of a legacy (non-validating) mapping
  // and unknown prot bits in mmap: the mapping is made.
  add({"Mmap/private_unknown_flag_bit_ignored",
       [](int p) { return Mmap(p, kHole, kPage, kRw, kAnon | 0x800000); },
       C::OK,
       0,
       {},
       {},
       OneMoreRegion(1)});
  // Linux's do_mmap() refuses only when map_count is already past the
  // limit (map_count > max_map_count), so one mapping more is allowed.
  add({"Mmap/at_max_map_count_one_more_allowed",
       [](int p) { return Mmap(p, kHole, kPage, kProtRead, kAnon); },
       C::OK,
       0,
       MaxMapCount(kStandardMapCount),
       {},
       OneMoreRegion(1)});
  add({"Mmap/past_max_map_count",
       [](int p) { return Mmap(p, kHole, kPage, kProtRead, kAnon); }, kNomem,
       ENOMEM, MaxMapCount(kStandardMapCount - 1)});

  // --- munmap ---
  add({"Munmap/len0", [](int p) { return Munmap(p, kBase, 0); }, kInval,
       EINVAL});
  add({"Munmap/unaligned", [](int p) { return Munmap(p, kBase + 1, kPage); },
       kInval, EINVAL});
  add({"Munmap/len_huge", [](int p) { return Munmap(p, kBase, kHuge); }, kInval,
       EINVAL});
  add({"Munmap/len_minus_4k", [](int p) { return Munmap(p, kBase, kMinus4k); },
       kInval, EINVAL});
  add({"Munmap/top_page", [](int p) { return Munmap(p, kTop, kPage); }, kInval,
       EINVAL});
  add({"Munmap/hole_succeeds", [](int p) { return Munmap(p, kHole, kPage); },
       C::OK, 0});
  // The last 4 pages of the rw- region and 8 pages of the hole: the mapped
  // part goes, the call succeeds.
  add({"Munmap/partly_unmapped_range",
       [](int p) { return Munmap(p, kBase + 12 * kPage, 12 * kPage); },
       C::OK,
       0,
       {},
       {},
       [](client::MmClient* c, int pid, const Snapshot& before,
          const Snapshot& after) {
         EXPECT_EQ(after.mm.map_count(), before.mm.map_count());
         EXPECT_EQ(after.mm.total_vm(), before.mm.total_vm() - 4);
         EXPECT_EQ(after.mm.pages().rss_anon(), before.mm.pages().rss_anon());
         absl::StatusOr<v1::FindVmaResponse> vma =
             c->FindVma(pid, kBase, v1::VMA_LOOKUP);
         ASSERT_TRUE(vma.ok());
         EXPECT_EQ(vma->vma().end(), kBase + 12 * kPage);
       }});
  add({"Munmap/split_at_max_map_count",
       [](int p) { return Munmap(p, kBase + 4 * kPage, kPage); }, kNomem,
       ENOMEM, MaxMapCount(kStandardMapCount)});

  // --- mprotect ---
  add({"Mprotect/len0_succeeds",
       [](int p) { return Mprotect(p, kBase, 0, kProtRead); }, C::OK, 0});
  add({"Mprotect/unaligned",
       [](int p) { return Mprotect(p, kBase + 1, kPage, kProtRead); }, kInval,
       EINVAL});
  add({"Mprotect/len_huge",
       [](int p) { return Mprotect(p, kBase, kHuge, kProtRead); }, kNomem,
       ENOMEM});
  add({"Mprotect/len_minus_4k",
       [](int p) { return Mprotect(p, kBase, kMinus4k, kProtRead); }, kNomem,
       ENOMEM});
  add({"Mprotect/unknown_prot_bit",
       [](int p) { return Mprotect(p, kBase, kPage, kProtRead | 0x10); },
       kInval, EINVAL});
  add({"Mprotect/top_page",
       [](int p) { return Mprotect(p, kTop, kPage, kProtRead); }, kNomem,
       ENOMEM});
  add({"Mprotect/hole", [](int p) { return Mprotect(p, kHole, kPage, 0); },
       kNomem, ENOMEM});
  // Linux changes the region in front of the hole, then fails.
  add({"Mprotect/region_then_hole_changes_front",
       [](int p) { return Mprotect(p, kBase, 20 * kPage, kProtRead); },
       kNomem,
       ENOMEM,
       {},
       {},
       [](client::MmClient* c, int pid, const Snapshot& before,
          const Snapshot& after) {
         EXPECT_EQ(after.mm.map_count(), before.mm.map_count());
         absl::StatusOr<v1::FindVmaResponse> vma =
             c->FindVma(pid, kBase, v1::VMA_LOOKUP);
         ASSERT_TRUE(vma.ok());
         EXPECT_EQ(vma->vma().perms(), "r--p");
         EXPECT_EQ(vma->vma().end(), kBase + 16 * kPage);
       }});
  add({"Mprotect/split_at_max_map_count",
       [](int p) { return Mprotect(p, kBase + 4 * kPage, kPage, kProtRead); },
       kNomem, ENOMEM, MaxMapCount(kStandardMapCount)});

  // --- mremap ---
  add({"Mremap/new_len0", [](int p) { return Mremap(p, kBase, kPage, 0, 0); },
       kInval, EINVAL});
  add({"Mremap/unaligned",
       [](int p) { return Mremap(p, kBase + 1, kPage, 2 * kPage, 0); }, kInval,
       EINVAL});
  add({"Mremap/unknown_flag",
       [](int p) { return Mremap(p, kBase, kPage, 2 * kPage, 0x100); }, kInval,
       EINVAL});
  add({"Mremap/fixed_without_maymove",
       [](int p) {
         return Mremap(p, kBase, kPage, kPage, kMremapFixed, kHole);
       },
       kInval, EINVAL});
  add({"Mremap/hole",
       [](int p) { return Mremap(p, kHole, kPage, 2 * kPage, kMremapMaymove); },
       C::INVALID_ARGUMENT, EFAULT});
  add({"Mremap/new_len_huge",
       [](int p) { return Mremap(p, kBase, kPage, kHuge, kMremapMaymove); },
       kInval, EINVAL});
  add({"Mremap/old_len_huge",
       [](int p) { return Mremap(p, kBase, kHuge, kPage, 0); }, kInval,
       EINVAL});

  // --- brk: never fails, a break it cannot move to leaves it ---
  add({"Brk/huge", [](int p) { return Brk(p, kMinus4k); }, C::OK, 0});
  add({"Brk/below_start", [](int p) { return Brk(p, 1); }, C::OK, 0});

  // --- mlock / munlock / mlockall ---
  add({"Mlock/len0_succeeds", [](int p) { return Mlock(p, kBase, 0); }, C::OK,
       0});
  add({"Mlock/hole", [](int p) { return Mlock(p, kHole, kPage); }, kNomem,
       ENOMEM});
  add({"Mlock/unknown_flag", [](int p) { return Mlock(p, kBase, kPage, 0x8); },
       kInval, EINVAL});
  // Linux rounds len + offset up to pages: (size_t)-1 wraps to 0, which
  // locks nothing and succeeds.
  add({"Mlock/len_huge_wraps_to_nothing",
       [](int p) { return Mlock(p, kBase, kHuge); }, C::OK, 0});
  add({"Munlock/len_huge_wraps_to_nothing",
       [](int p) { return Munlock(p, kBase, kHuge); }, C::OK, 0});
  add({"Munlock/hole", [](int p) { return Munlock(p, kHole, kPage); }, kNomem,
       ENOMEM});
  add({"Mlockall/flags0", [](int p) { return Mlockall(p, 0); }, kInval,
       EINVAL});
  add({"Mlockall/unknown_flag", [](int p) { return Mlockall(p, 0x10); }, kInval,
       EINVAL});
  add({"Mlockall/onfault_alone", [](int p) { return Mlockall(p, kMclOnfault); },
       kInval, EINVAL});

  // --- madvise ---
  add({"Madvise/unaligned",
       [](int p) { return Madvise(p, kBase + 1, kPage, kMadvDontneed); },
       kInval, EINVAL});
  add({"Madvise/unknown_advice",
       [](int p) { return Madvise(p, kBase, kPage, 12345); }, kInval, EINVAL});
  add({"Madvise/hole",
       [](int p) { return Madvise(p, kHole, kPage, kMadvDontneed); }, kNomem,
       ENOMEM});
  add({"Madvise/len0_succeeds",
       [](int p) { return Madvise(p, kBase, 0, kMadvDontneed); }, C::OK, 0});
  add({"Madvise/len_huge",
       [](int p) { return Madvise(p, kBase, kHuge, kMadvDontneed); }, kInval,
       EINVAL});
  add({"Madvise/len_minus_4k",
       [](int p) { return Madvise(p, kBase, kMinus4k, kMadvDontneed); }, kInval,
       EINVAL});

  // --- mincore ---
  add({"Mincore/unaligned", [](int p) { return Mincore(p, kBase + 1, kPage); },
       kInval, EINVAL});
  add({"Mincore/hole", [](int p) { return Mincore(p, kHole, kPage); }, kNomem,
       ENOMEM});
  add({"Mincore/len0_succeeds", [](int p) { return Mincore(p, kBase, 0); },
       C::OK, 0});
  add({"Mincore/len_huge", [](int p) { return Mincore(p, kBase, kHuge); },
       kNomem, ENOMEM});
  add({"Mincore/top_page", [](int p) { return Mincore(p, kTop, kPage); },
       kNomem, ENOMEM});

  // --- touch, find_vma, get_unmapped_area: enums and extremes ---
  add({"Touch/access_unspecified",
       [](int p) { return Touch(p, kBase, v1::FAULT_ACCESS_UNSPECIFIED); },
       kInval, EINVAL});
  add({"Touch/access_invalid_enum", [](int p) { return Touch(p, kBase, 99); },
       kInval, EINVAL});
  // A user access to the last page of 2^64 is SIGSEGV (SEGV_MAPERR), which
  // is an answer, not an RPC error; the fault is counted.
  add({"Touch/top_page_sigsegv",
       [](int p) { return Touch(p, kTop, v1::FAULT_ACCESS_READ); },
       C::OK,
       0,
       {},
       {},
       [](client::MmClient*, int, const Snapshot& before,
          const Snapshot& after) {
         Snapshot expected = before;
         expected.mm.mutable_pages()->set_segv_maperr(
             before.mm.pages().segv_maperr() + 1);
         EXPECT_TRUE(SameSnapshot(expected, after)) << Describe(after);
       }});
  add({"FindVma/invalid_mode_enum", [](int p) { return FindVma(p, kBase, 99); },
       kInval, EINVAL});
  add({"FindVma/top_addr_none",
       [](int p) { return FindVma(p, kHuge, v1::FIND_VMA); }, C::OK, 0});
  add({"GetUnmappedArea/len_huge", [](int p) { return UnmappedArea(p, kHuge); },
       kNomem, ENOMEM});
  add({"GetUnmappedArea/unknown_file",
       [](int p) { return UnmappedArea(p, kPage, "/no/such/file"); },
       C::NOT_FOUND, ENOENT});

  // --- set_rlimit: enums and missing fields ---
  add({"SetRlimit/resource_unspecified",
       [](int p) { return SetRlimit(p, 0, 1, 1); }, kInval, EINVAL});
  add({"SetRlimit/resource_invalid_enum",
       [](int p) { return SetRlimit(p, 99, 1, 1); }, kInval, EINVAL});
  add({"SetRlimit/limit_missing",
       [](int p) { return SetRlimit(p, v1::RLIMIT_RESOURCE_AS, 0, 0, false); },
       kInval, EINVAL});
  add({"SetRlimit/cur_above_max",
       [](int p) { return SetRlimit(p, v1::RLIMIT_RESOURCE_AS, 2, 1); }, kInval,
       EINVAL});

  // --- tasks ---
  add({"Clone/thread_without_vm", [](int p) { return Clone(p, 0x10000); },
       kInval, EINVAL});
  add({"Exec/image_missing", [](int p) { return Exec(p, false); }, kInval,
       EINVAL});
  add({"Schedule/cpu_out_of_range", [](int p) { return Schedule(99, p); },
       kInval, EINVAL});
  add({"Schedule/cpu_negative", [](int p) { return Schedule(-1, p); }, kInval,
       EINVAL});

  // --- RLIMIT_MEMLOCK ---
  {
    v1::MmConfig one_page;
    one_page.mutable_rlimits()->mutable_memlock()->set_cur(kPage);
    one_page.mutable_rlimits()->mutable_memlock()->set_max(kPage);
    v1::MmConfig zero;
    zero.mutable_rlimits()->mutable_memlock()->set_cur(0);
    zero.mutable_rlimits()->mutable_memlock()->set_max(0);
    add({"Mlock/over_memlock", [](int p) { return Mlock(p, kBase, 2 * kPage); },
         kNomem, ENOMEM, one_page});
    add({"Mlock/memlock_zero", [](int p) { return Mlock(p, kBase, kPage); },
         C::PERMISSION_DENIED, EPERM, zero});
    add({"Mmap/locked_over_memlock",
         [](int p) {
           return Mmap(p, kHole, 2 * kPage, kRw, kAnon | kMapLocked);
         },
         C::UNAVAILABLE, EAGAIN, one_page});
    add({"Mlockall/current_over_memlock",
         [](int p) { return Mlockall(p, kMclCurrent); }, kNomem, ENOMEM,
         one_page});
  }
  return cases;
}

// The RLIMIT_AS cases need the process's own total_vm: the limit leaves 8
// pages of room.
std::vector<Case> AsCases() {
  std::vector<Case> cases;
  cases.push_back({"Mmap/over_rlimit_as",
                   [](int p) { return Mmap(p, 0, 16 * kPage, kRw, kAnon); },
                   grpc::StatusCode::RESOURCE_EXHAUSTED, ENOMEM});
  cases.push_back({"Mremap/grow_over_rlimit_as",
                   [](int p) {
                     return Mremap(p, kBase, 16 * kPage, 48 * kPage,
                                   kMremapMaymove);
                   },
                   grpc::StatusCode::RESOURCE_EXHAUSTED, ENOMEM});
  return cases;
}

class BadInputTest : public ServerTest {
 protected:
  // Creates a standard process for `c`, with its limits and preparation.
  int Target(const Case& c, bool as_limit) {
    const int pid = StandardProcess(c.config);
    if (as_limit) {
      absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
      EXPECT_TRUE(mm.ok());
      const uint64_t limit = (mm->total_vm() + 8) * kPage;
      EXPECT_TRUE(
          client_->SetRlimit(pid, v1::RLIMIT_RESOURCE_AS, limit, limit).ok());
    }
    if (c.config.has_max_map_count()) {
      absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
      EXPECT_TRUE(mm.ok());
      EXPECT_GE(mm->map_count(), c.config.max_map_count()) << "setup";
    }
    for (const Op& op : c.prepare) {
      EXPECT_EQ(Unary(op).status().code(), 0) << op.DebugString();
    }
    return pid;
  }

  // Runs the table once through the unary RPCs and once as one Batch over
  // twin processes; asserts code, errno, liveness and the mm after.
  void RunTable(const std::vector<Case>& cases, bool as_limit) {
    std::vector<int> unary_pids;
    std::vector<int> batch_pids;
    for (const Case& c : cases) {
      unary_pids.push_back(Target(c, as_limit));
      batch_pids.push_back(Target(c, as_limit));
    }
    std::vector<Snapshot> before;
    std::vector<Result> unary;
    std::vector<Op> ops;
    for (size_t i = 0; i < cases.size(); ++i) {
      const Case& c = cases[i];
      SCOPED_TRACE(c.name);
      before.push_back(Snap(unary_pids[i]));
      unary.push_back(Unary(c.op(unary_pids[i])));
      const v1::OpStatus& s = unary.back().status();
      EXPECT_EQ(s.code(), static_cast<int>(c.code)) << s.DebugString();
      EXPECT_EQ(s.errno_number(), c.err) << s.DebugString();
      EXPECT_EQ(s.errno_name(), c.err == 0 ? "" : ErrnoName(c.err));
      // The client library restores the same errno.
      EXPECT_EQ(LinuxErrno(client::FromOpStatus(s)).value_or(0), c.err);
      // The server still answers, the target too.
      absl::StatusOr<v1::GetMmResponse> alive = client_->GetMm(unary_pids[i]);
      EXPECT_TRUE(alive.ok()) << alive.status();
      const Snapshot after = Snap(unary_pids[i]);
      if (c.expect != nullptr) {
        c.expect(client_.get(), unary_pids[i], before.back(), after);
      } else {
        ExpectUnchanged(client_.get(), unary_pids[i], before.back(), after);
      }
      ops.push_back(c.op(batch_pids[i]));
    }
    // The same ops, in one request, on the twins.
    std::vector<Result> batch = BatchOf(ops);
    ASSERT_EQ(batch.size(), cases.size());
    for (size_t i = 0; i < cases.size(); ++i) {
      SCOPED_TRACE(cases[i].name + " (batch)");
      EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
          batch[i].status(), unary[i].status()))
          << "batch: " << batch[i].status().DebugString()
          << "unary: " << unary[i].status().DebugString();
      EXPECT_EQ(batch[i].reply_case(), unary[i].reply_case());
      if (batch[i].reply_case() != Result::kGetMm) {  // GetMm has pid, mm_id
        EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(
            batch[i], unary[i]))
            << "batch: " << batch[i].DebugString()
            << "unary: " << unary[i].DebugString();
      }
      const Snapshot twin = Snap(batch_pids[i]);
      const Snapshot original = Snap(unary_pids[i]);
      EXPECT_TRUE(SameSnapshot(twin, original))
          << "batch twin:\n"
          << Describe(twin) << "unary target:\n"
          << Describe(original);
    }
    // And a write still goes through.
    EXPECT_TRUE(client_->MmapAnon(unary_pids[0], 0, kPage, kRw, kAnon).ok());
  }
};

TEST_F(BadInputTest, EveryRpcWithMalformedAndExtremeFields) {
  const std::vector<Case> cases = Cases();
  // 4 pid cases for each of the 26 kinds of op (3 for Schedule) + the rest.
  EXPECT_GT(cases.size(), 170u);
  RunTable(cases, /*as_limit=*/false);
}

TEST_F(BadInputTest, RlimitAsExhaustion) {
  RunTable(AsCases(), /*as_limit=*/true);
  // brk past RLIMIT_AS does not fail: it keeps the old break.
  const int pid = StandardProcess();
  absl::StatusOr<uint64_t> brk = client_->Brk(pid, 0);
  ASSERT_TRUE(brk.ok());
  absl::StatusOr<v1::GetMmResponse> mm = client_->GetMm(pid);
  ASSERT_TRUE(mm.ok());
  const uint64_t limit = (mm->total_vm() + 8) * kPage;
  ASSERT_TRUE(
      client_->SetRlimit(pid, v1::RLIMIT_RESOURCE_AS, limit, limit).ok());
  const Snapshot before = Snap(pid);
  absl::StatusOr<uint64_t> moved = client_->Brk(pid, *brk + 64 * kPage);
  ASSERT_TRUE(moved.ok());
  EXPECT_EQ(*moved, *brk);
  ExpectUnchanged(client_.get(), pid, before, Snap(pid));
}

// A Batch op that is not set is a malformed op; the rest still run.
TEST_F(BadInputTest, BatchUnsetOpIsMalformed) {
  const int pid = StandardProcess();
  std::vector<Result> results =
      BatchOf({Op(), Mmap(pid, kHole, kPage, kRw, kAnon | kMapFixed)});
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].status().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(results[0].status().errno_number(), EINVAL);
  EXPECT_EQ(results[0].reply_case(), Result::REPLY_NOT_SET);
  EXPECT_EQ(results[1].status().code(), 0);
  EXPECT_EQ(results[1].mmap().addr(), kHole);
}

// More ops than --max_batch_ops: that request is rejected whole (nothing
// runs), the stream goes on with the next one.
TEST_F(BadInputTest, OversizedBatchRejectedWholeStreamGoesOn) {
  Start(SystemConfig(), /*max_batch_ops=*/8);
  const int pid = StandardProcess();
  const Snapshot before = Snap(pid);
  v1::BatchRequest big;
  big.set_id(1);
  for (int i = 0; i < 9; ++i) {
    *big.add_ops() = Mmap(pid, 0, kPage, kRw, kAnon);
  }
  v1::BatchRequest small;
  small.set_id(2);
  *small.add_ops() = Mmap(pid, kHole, kPage, kRw, kAnon | kMapFixed);
  absl::StatusOr<std::vector<v1::BatchResponse>> resp =
      client_->Batch({big, small});
  ASSERT_TRUE(resp.ok()) << resp.status();
  ASSERT_EQ(resp->size(), 2u);
  const v1::BatchResponse& rejected = (*resp)[0];
  EXPECT_EQ(rejected.id(), 1u);
  EXPECT_EQ(rejected.status().code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(rejected.status().errno_number(), EINVAL);
  EXPECT_EQ(rejected.status().errno_name(), "EINVAL");
  EXPECT_EQ(rejected.results_size(), 0);
  EXPECT_EQ((*resp)[1].id(), 2u);
  EXPECT_EQ((*resp)[1].status().code(), 0);
  ASSERT_EQ((*resp)[1].results_size(), 1);
  EXPECT_EQ((*resp)[1].results(0).mmap().addr(), kHole);
  // Only the small request changed the mm.
  const Snapshot after = Snap(pid);
  EXPECT_EQ(after.mm.map_count(), before.mm.map_count() + 1);
  EXPECT_EQ(after.mm.total_vm(), before.mm.total_vm() + 1);
}

// Few frames and no swap: touching more pages than RAM ends in the OOM
// killer, which kills the toucher (the only big process). The server keeps
// answering, the victim is gone (ESRCH), and its frames are free again.
TEST_F(BadInputTest, FrameExhaustionKillsTheToucherServerGoesOn) {
  SystemConfig config;
  config.phys.frames = 512;
  config.phys.swap_pages = 0;
  Start(config);
  const int pid = StandardProcess();
  constexpr uint64_t kPages = 1024;  // twice the RAM
  absl::StatusOr<uint64_t> addr =
      client_->MmapAnon(pid, 0, kPages * kPage, kRw, kAnon);
  ASSERT_TRUE(addr.ok()) << addr.status();
  bool killed = false;
  uint64_t p = 0;
  for (; p < kPages && !killed; ++p) {
    absl::StatusOr<v1::TouchResponse> touch =
        client_->Touch(pid, *addr + p * kPage, v1::FAULT_ACCESS_WRITE);
    ASSERT_TRUE(touch.ok()) << touch.status();
    if (touch->oom_killed_self()) {
      killed = true;
      EXPECT_EQ(touch->oom_victim_pid(), pid);
      EXPECT_EQ(touch->kind(), v1::FAULT_KIND_OOM);
    }
  }
  ASSERT_TRUE(killed) << "no OOM kill after " << p << " pages";
  absl::Status gone = client_->GetMm(pid).status();
  EXPECT_EQ(gone.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(LinuxErrno(gone), ESRCH);
  absl::StatusOr<v1::GetSystemStatsResponse> stats = client_->GetSystemStats();
  ASSERT_TRUE(stats.ok());
  EXPECT_EQ(stats->oom_kills(), 1u);
  EXPECT_EQ(stats->phys().frames_free() + stats->phys().kernel_pages() +
                stats->phys().page_cache_pages(),
            stats->phys().frames_total());

  // The same through Batch: the ops after the kill fail with ESRCH each,
  // the batch goes on to its end.
  const int other = StandardProcess();
  absl::StatusOr<uint64_t> area =
      client_->MmapAnon(other, 0, kPages * kPage, kRw, kAnon);
  ASSERT_TRUE(area.ok());
  std::vector<Op> ops;
  for (uint64_t i = 0; i < kPages; ++i) {
    ops.push_back(Touch(other, *area + i * kPage, v1::FAULT_ACCESS_WRITE));
  }
  std::vector<Result> results = BatchOf(ops);
  ASSERT_EQ(results.size(), kPages);
  size_t kill = kPages;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].touch().oom_killed_self()) {
      kill = i;
      break;
    }
    ASSERT_EQ(results[i].status().code(), 0) << i;
  }
  ASSERT_LT(kill, kPages);
  for (size_t i = kill + 1; i < results.size(); ++i) {
    EXPECT_EQ(results[i].status().code(), grpc::StatusCode::NOT_FOUND) << i;
    EXPECT_EQ(results[i].status().errno_number(), ESRCH) << i;
  }
  EXPECT_TRUE(client_->ListProcesses().ok());
}

// The RPCs Batch does not carry: malformed and extreme requests leave the
// system as it was (processes, files, tasks, counters).
TEST_F(BadInputTest, SystemRpcsRejectBadInputUnchanged) {
  StandardProcess();
  auto system = [this] {
    std::string out;
    absl::StatusOr<v1::GetSystemStatsResponse> stats =
        client_->GetSystemStats();
    EXPECT_TRUE(stats.ok());
    out += stats->DebugString();
    absl::StatusOr<std::vector<v1::TaskInfo>> tasks = client_->ListTasks();
    EXPECT_TRUE(tasks.ok());
    if (tasks.ok()) {
      for (const v1::TaskInfo& t : *tasks) out += t.DebugString();
    }
    absl::StatusOr<std::vector<v1::FileInfo>> files = client_->ListFiles();
    EXPECT_TRUE(files.ok());
    if (files.ok()) {
      for (const v1::FileInfo& f : *files) out += f.DebugString();
    }
    return out;
  };
  struct SystemCase {
    std::string name;
    std::function<absl::Status()> call;
    absl::StatusCode code;
    int err;
  };
  auto create = [this](const v1::CreateProcessRequest& req) {
    return client_->CreateProcess(req).status();
  };
  auto region = [](const std::string& perms, uint64_t start, uint64_t end) {
    v1::CreateProcessRequest req;
    v1::RegionSpec* r = req.mutable_description()->add_regions();
    r->set_start(start);
    r->set_end(end);
    r->set_perms(perms);
    return req;
  };
  std::vector<SystemCase> cases = {
      {"CreateProcess/source_missing",
       [&] { return create(v1::CreateProcessRequest()); },
       absl::StatusCode::kInvalidArgument, EINVAL},
      {"CreateProcess/bad_perms",
       [&] { return create(region("rwz", kBase, kBase + kPage)); },
       absl::StatusCode::kInvalidArgument, EINVAL},
      {"CreateProcess/unaligned_region",
       [&] { return create(region("rw-p", kBase + 1, kBase + kPage)); },
       absl::StatusCode::kInvalidArgument, EINVAL},
      {"CreateProcess/max_map_count_0",
       [&] {
         v1::CreateProcessRequest req;
         req.mutable_exec();
         req.mutable_config()->set_max_map_count(0);
         return create(req);
       },
       absl::StatusCode::kInvalidArgument, EINVAL},
      {"CreateProcess/rlimit_cur_above_max",
       [&] {
         v1::CreateProcessRequest req;
         req.mutable_exec();
         req.mutable_config()->mutable_rlimits()->mutable_as()->set_cur(2);
         req.mutable_config()->mutable_rlimits()->mutable_as()->set_max(1);
         return create(req);
       },
       absl::StatusCode::kInvalidArgument, EINVAL},
      {"CreateProcess/unknown_region_file",
       [&] {
         v1::CreateProcessRequest req = region("r--p", kBase, kBase + kPage);
         req.mutable_description()->mutable_regions(0)->set_file_name("/nope");
         return create(req);
       },
       absl::StatusCode::kNotFound, ENOENT},
      {"CreateKernelThread/name_missing",
       [&] { return client_->CreateKernelThread("").status(); },
       absl::StatusCode::kInvalidArgument, EINVAL},
      {"Reclaim/zero_pages", [&] { return client_->Reclaim(0).status(); },
       absl::StatusCode::kInvalidArgument, EINVAL},
      {"Vfree/never_allocated", [&] { return client_->Vfree(kTop); },
       absl::StatusCode::kInvalidArgument, EINVAL},
  };
  for (const SystemCase& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string before = system();
    absl::Status status = c.call();
    EXPECT_EQ(status.code(), c.code) << status;
    EXPECT_EQ(LinuxErrno(status).value_or(0), c.err) << status;
    EXPECT_TRUE(client_->ListProcesses().ok());
    EXPECT_EQ(system(), before);
  }
}

}  // namespace
}  // namespace mmsim::server::testing
