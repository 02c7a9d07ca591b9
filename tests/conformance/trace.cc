#include "tests/conformance/trace.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace mmsim {
namespace conformance {
namespace {

std::string Hex(uint64_t v) {
  char b[32];
  snprintf(b, sizeof(b), "%" PRIx64, v);
  return b;
}

const Pages* PagesOf(const State& s, const Region& r) {
  if (!s.pages_known) return nullptr;
  for (size_t i = 0; i < s.regions.size() && i < s.pages.size(); ++i) {
    if (s.regions[i].start == r.start && s.regions[i].end == r.end) {
      return &s.pages[i];
    }
  }
  return nullptr;
}

// "p <start> <end> <rss> <anon> <locked> <swap>" for the regions whose
// pages differ from the same region's (same start and end) in prev, or
// from zero. The worker's own regions are not written (the reader masks
// them again).
void WritePages(std::ostream& out, const State* prev, const State& cur) {
  if (!cur.regions_known) return;
  if (!cur.pages_known) {
    out << "p?\n";
    return;
  }
  for (size_t i = 0; i < cur.regions.size() && i < cur.pages.size(); ++i) {
    const Pages& p = cur.pages[i];
    if (p.rss == kPagesNotCompared) continue;
    const Pages* q = prev != nullptr ? PagesOf(*prev, cur.regions[i]) : nullptr;
    Pages zero;
    if (p == (q != nullptr ? *q : zero)) continue;
    out << "p " << Hex(cur.regions[i].start) << " " << Hex(cur.regions[i].end)
        << " " << p.rss << " " << p.anon << " " << p.locked << " " << p.swap
        << "\n";
  }
}

void WriteViews(std::ostream& out, const State& cur) {
  for (size_t i = 0; i < cur.views.size(); ++i) {
    const State& v = cur.views[i];
    out << "V " << i << " " << v.sig << " " << v.si_code << " "
        << (v.regions_known ? 1 : 0) << "\n";
    if (!v.regions_known) continue;
    for (const Region& r : v.regions) out << "+ " << FormatRegion(r) << "\n";
    WritePages(out, nullptr, v);
  }
}

void WriteDelta(std::ostream& out, const State& prev, const State& cur) {
  if (!cur.regions_known) {
    if (prev.regions_known) out << "u\n";
  } else if (!prev.regions_known) {
    out << "R\n";
    for (const Region& r : cur.regions) out << "+ " << FormatRegion(r) << "\n";
  } else {
    std::set<std::string> a, b;
    for (const Region& r : prev.regions) a.insert(FormatRegion(r));
    for (const Region& r : cur.regions) b.insert(FormatRegion(r));
    for (const std::string& s : a) {
      if (!b.count(s)) out << "- " << s << "\n";
    }
    for (const std::string& s : b) {
      if (!a.count(s)) out << "+ " << s << "\n";
    }
  }
  if (!(prev.counters == cur.counters)) {
    out << "c " << FormatCounters(cur.counters) << "\n";
  }
  if (prev.brk != cur.brk) out << "b " << Hex(cur.brk) << "\n";
}

bool KeyHex(const std::string& line, const std::string& key, uint64_t* v) {
  size_t p = line.find(" " + key + "=");
  if (p == std::string::npos) return false;
  *v = strtoull(line.c_str() + p + key.size() + 2, nullptr, 16);
  return true;
}

bool KeyLim(const std::string& line, const std::string& key, uint64_t* cur,
            uint64_t* max) {
  size_t p = line.find(" " + key + "=");
  if (p == std::string::npos) return false;
  char* end;
  *cur = strtoull(line.c_str() + p + key.size() + 2, &end, 16);
  if (*end != '/') return false;
  *max = strtoull(end + 1, nullptr, 16);
  return true;
}

void SortRegions(std::vector<Region>* rs) {
  std::vector<Region>& v = *rs;
  for (size_t i = 1; i < v.size(); ++i) {  // nearly sorted: insertion sort
    for (size_t j = i; j > 0 && v[j].start < v[j - 1].start; --j) {
      std::swap(v[j], v[j - 1]);
    }
  }
}

}  // namespace

void WriteHeader(std::ostream& out, const GoldenHeader& h) {
  out << "mmsim-golden 1\n";
  out << "kernel " << h.kernel << "\n";
  out << "regenerate " << h.regenerate << "\n";
  out << "host " << h.host << "\n";
}

void WriteSequence(std::ostream& out, const Sequence& s) {
  const SeqConfig& c = s.cfg;
  out << "seq " << s.name << "\n";
  out << "desc " << s.desc << "\n";
  out << "cfg mmap_base=" << Hex(c.mmap_base)
      << " mmap_min_addr=" << Hex(c.mmap_min_addr)
      << " max_map_count=" << Hex(c.max_map_count)
      << " thp_align=" << (c.thp_align_anon ? 1 : 0)
      << " rlim_as=" << Hex(c.rlim_cur[kRlimAs]) << "/"
      << Hex(c.rlim_max[kRlimAs]) << " rlim_data=" << Hex(c.rlim_cur[kRlimData])
      << "/" << Hex(c.rlim_max[kRlimData])
      << " rlim_memlock=" << Hex(c.rlim_cur[kRlimMemlock]) << "/"
      << Hex(c.rlim_max[kRlimMemlock]) << " rlim_stack=" << Hex(c.rlim_stack)
      << "\n";
  out << "layout start_code=" << Hex(c.start_code)
      << " end_code=" << Hex(c.end_code) << " start_data=" << Hex(c.start_data)
      << " end_data=" << Hex(c.end_data) << " start_brk=" << Hex(c.start_brk)
      << " brk=" << Hex(c.brk) << " start_stack=" << Hex(c.start_stack)
      << " arg_start=" << Hex(c.arg_start) << " arg_end=" << Hex(c.arg_end)
      << " env_start=" << Hex(c.env_start) << " env_end=" << Hex(c.env_end)
      << "\n";
  for (int i = 0; i < kNumFiles; ++i) {
    const FileInfo& f = c.files[i];
    out << "file " << i << " " << f.ino << " " << f.dev_major << " "
        << f.dev_minor << " " << f.size << " " << f.name << "\n";
  }
  for (const RawRegion& r : c.init)
    out << "init " << FormatRawRegion(r) << "\n";
  out << "c " << FormatCounters(s.initial.counters) << "\n";
  out << "b " << Hex(s.initial.brk) << "\n";
  const State* prev = &s.initial;
  for (const Step& st : s.steps) {
    out << "op " << st.op.kind;
    for (uint64_t a : st.op.a) out << " " << Hex(a);
    out << "\n= " << st.state.ret << " " << st.state.err << " "
        << ErrnoStr(st.state.err);
    if (st.state.sig != 0) {
      out << " sig=" << st.state.sig << "/" << st.state.si_code;
    }
    out << "\n";
    WriteDelta(out, *prev, st.state);
    WritePages(out, prev, st.state);
    WriteViews(out, st.state);
    prev = &st.state;
  }
  out << "end\n";
}

bool ReadGolden(const std::string& path, GoldenHeader* h,
                std::vector<Sequence>* seqs, std::string* error,
                bool names_only, const std::string& only) {
  std::ifstream in(path);
  if (!in) {
    *error = "cannot open " + path;
    return false;
  }
  std::string line;
  int lineno = 0;
  Sequence* s = nullptr;
  State cur;
  auto fail = [&](const std::string& what) {
    *error = path + ":" + std::to_string(lineno) + ": " + what + ": " + line;
    return false;
  };
  bool in_steps = false;
  bool skipping = false;
  // Pages of the current step: the "p" lines read so far apply once its
  // region list is complete (at the next op, V or end).
  State before;  // the state before the current step
  struct PLine {
    uint64_t start, end;
    Pages p;
  };
  std::vector<PLine> plines;
  bool pages_unknown = false;
  State* view = nullptr;
  auto apply_pages = [&](State* t, const State* prev) {
    t->pages.clear();
    for (const Region& r : t->regions) {
      const Pages* q = prev != nullptr ? PagesOf(*prev, r) : nullptr;
      t->pages.push_back(q != nullptr ? *q : Pages{});
    }
    for (const PLine& pl : plines) {
      for (size_t i = 0; i < t->regions.size(); ++i) {
        if (t->regions[i].start == pl.start && t->regions[i].end == pl.end) {
          t->pages[i] = pl.p;
        }
      }
    }
    t->pages_known = t->regions_known && !pages_unknown;
    if (!t->pages_known) t->pages.clear();
    plines.clear();
    pages_unknown = false;
    MaskWorkerPages(s->cfg, t);
  };
  // Completes the current step (or view) before the next line starts a new
  // one.
  auto finish = [&]() {
    if (s == nullptr || !in_steps || s->steps.empty()) return;
    if (view != nullptr) {
      apply_pages(view, nullptr);
      view = nullptr;
      return;
    }
    apply_pages(&s->steps.back().state, &before);
    cur = s->steps.back().state;
  };
  while (std::getline(in, line)) {
    ++lineno;
    if (line.empty() || line[0] == '#') continue;
    if (skipping && line.compare(0, 4, "seq ") != 0) continue;
    size_t sp = line.find(' ');
    std::string key = line.substr(0, sp);
    std::string rest = sp == std::string::npos ? "" : line.substr(sp + 1);
    if (key == "mmsim-golden") continue;
    if (key == "kernel") {
      h->kernel = rest;
      continue;
    }
    if (key == "regenerate") {
      h->regenerate = rest;
      continue;
    }
    if (key == "host") {
      h->host = rest;
      continue;
    }
    if (key == "seq") {
      skipping = !only.empty() && rest != only;
      if (skipping) {
        s = nullptr;
        continue;
      }
      seqs->emplace_back();
      s = &seqs->back();
      s->name = rest;
      cur = State();
      in_steps = false;
      continue;
    }
    if (s == nullptr) return fail("line outside a sequence");
    if (names_only) continue;
    if (key == "desc") {
      s->desc = rest;
    } else if (key == "cfg") {
      SeqConfig& c = s->cfg;
      std::string l = " " + rest;
      uint64_t thp = 1;
      if (!KeyHex(l, "mmap_base", &c.mmap_base) ||
          !KeyHex(l, "mmap_min_addr", &c.mmap_min_addr) ||
          !KeyHex(l, "max_map_count", &c.max_map_count) ||
          !KeyHex(l, "thp_align", &thp) ||
          !KeyLim(l, "rlim_as", &c.rlim_cur[kRlimAs], &c.rlim_max[kRlimAs]) ||
          !KeyLim(l, "rlim_data", &c.rlim_cur[kRlimData],
                  &c.rlim_max[kRlimData]) ||
          !KeyLim(l, "rlim_memlock", &c.rlim_cur[kRlimMemlock],
                  &c.rlim_max[kRlimMemlock]) ||
          !KeyHex(l, "rlim_stack", &c.rlim_stack)) {
        return fail("bad cfg");
      }
      c.thp_align_anon = thp != 0;
      c.release = h->kernel;
    } else if (key == "layout") {
      SeqConfig& c = s->cfg;
      std::string l = " " + rest;
      if (!KeyHex(l, "start_code", &c.start_code) ||
          !KeyHex(l, "end_code", &c.end_code) ||
          !KeyHex(l, "start_data", &c.start_data) ||
          !KeyHex(l, "end_data", &c.end_data) ||
          !KeyHex(l, "start_brk", &c.start_brk) || !KeyHex(l, "brk", &c.brk) ||
          !KeyHex(l, "start_stack", &c.start_stack) ||
          !KeyHex(l, "arg_start", &c.arg_start) ||
          !KeyHex(l, "arg_end", &c.arg_end) ||
          !KeyHex(l, "env_start", &c.env_start) ||
          !KeyHex(l, "env_end", &c.env_end)) {
        return fail("bad layout");
      }
    } else if (key == "file") {
      int k;
      unsigned long long ino, maj, min, size;
      int pos = 0;
      if (sscanf(rest.c_str(), "%d %llu %llu %llu %llu %n", &k, &ino, &maj,
                 &min, &size, &pos) < 5 ||
          k < 0 || k >= kNumFiles) {
        return fail("bad file");
      }
      FileInfo& f = s->cfg.files[k];
      f.ino = ino;
      f.dev_major = maj;
      f.dev_minor = min;
      f.size = size;
      snprintf(f.name, sizeof(f.name), "%s", rest.c_str() + pos);
    } else if (key == "init") {
      std::vector<RawRegion> one;
      if (!ParseMaps(rest, &one) || one.size() != 1) return fail("bad init");
      s->cfg.init.push_back(one[0]);
    } else if (key == "op") {
      if (!in_steps) {
        s->initial.regions = Canonicalize(s->cfg.init, s->cfg.files, kNumFiles);
        s->initial.regions_known = true;
        plines.clear();
        apply_pages(&s->initial, nullptr);
        cur = s->initial;
        in_steps = true;
      } else {
        finish();
      }
      before = cur;
      Step st;
      std::istringstream is(rest);
      is >> st.op.kind;
      for (uint64_t& a : st.op.a) is >> std::hex >> a;
      if (!is) return fail("bad op");
      st.state = cur;
      s->steps.push_back(st);
    } else if (key == "=") {
      if (s->steps.empty()) return fail("result before op");
      long long ret, err;
      if (sscanf(rest.c_str(), "%lld %lld", &ret, &err) != 2) {
        return fail("bad result");
      }
      s->steps.back().state.ret = ret;
      s->steps.back().state.err = err;
      s->steps.back().state.views.clear();
      size_t sp2 = rest.find(" sig=");
      long long sig = 0, code = 0;
      if (sp2 != std::string::npos &&
          sscanf(rest.c_str() + sp2, " sig=%lld/%lld", &sig, &code) != 2) {
        return fail("bad signal");
      }
      s->steps.back().state.sig = sig;
      s->steps.back().state.si_code = code;
    } else if (key == "p" || key == "p?") {
      if (!in_steps || s->steps.empty()) return fail("pages before op");
      if (key == "p?") {
        pages_unknown = true;
        continue;
      }
      PLine pl;
      long long v[4];
      unsigned long long a, b;
      if (sscanf(rest.c_str(), "%llx %llx %lld %lld %lld %lld", &a, &b, &v[0],
                 &v[1], &v[2], &v[3]) != 6) {
        return fail("bad pages");
      }
      pl.start = a;
      pl.end = b;
      pl.p = Pages{v[0], v[1], v[2], v[3]};
      plines.push_back(pl);
    } else if (key == "V") {
      if (!in_steps || s->steps.empty()) return fail("view before op");
      finish();
      long long idx, sig, code, known;
      if (sscanf(rest.c_str(), "%lld %lld %lld %lld", &idx, &sig, &code,
                 &known) != 4) {
        return fail("bad view");
      }
      State& t = s->steps.back().state;
      t.views.emplace_back();
      view = &t.views.back();
      view->sig = sig;
      view->si_code = code;
      view->regions.clear();
      view->regions_known = known != 0;
    } else if (key == "-" || key == "+" || key == "u" || key == "R") {
      State* t = s->steps.empty() ? &s->initial : &s->steps.back().state;
      if (view != nullptr) t = view;
      if (key == "u") {
        t->regions.clear();
        t->regions_known = false;
      } else if (key == "R") {
        t->regions.clear();
        t->regions_known = true;
      } else {
        Region r;
        if (!ParseRegion(rest, &r)) return fail("bad region");
        if (key == "+") {
          t->regions.push_back(r);
          SortRegions(&t->regions);
        } else {
          bool found = false;
          for (size_t i = 0; i < t->regions.size(); ++i) {
            if (t->regions[i] == r) {
              t->regions.erase(t->regions.begin() + static_cast<long>(i));
              found = true;
              break;
            }
          }
          if (!found) return fail("removed region not present");
        }
      }
      if (view == nullptr) cur = *t;
    } else if (key == "c") {
      State* t = s->steps.empty() ? &s->initial : &s->steps.back().state;
      if (!ParseCounters(rest, &t->counters)) return fail("bad counters");
      cur = *t;
    } else if (key == "b") {
      State* t = s->steps.empty() ? &s->initial : &s->steps.back().state;
      t->brk = strtoull(rest.c_str(), nullptr, 16);
      cur = *t;
    } else if (key == "end") {
      if (!in_steps) {
        s->initial.regions = Canonicalize(s->cfg.init, s->cfg.files, kNumFiles);
        plines.clear();
        apply_pages(&s->initial, nullptr);
      } else {
        finish();
      }
      s = nullptr;
    } else {
      return fail("unknown line");
    }
  }
  return true;
}

}  // namespace conformance
}  // namespace mmsim
