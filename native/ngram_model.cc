// native/ngram_model.cc — see ngram_model.h and, for the file layout and its costs, ngram_format.h.
#include "ngram_model.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>

namespace assistant {
namespace ngram {
namespace {

// A back-off of -0.0 means "no extension" (ngram_format.h, EXTENSION).
inline bool HasLeftFlag(float stored_prob) { return std::signbit(stored_prob); }

inline bool LosslessExtends(float backoff) {
  uint32_t bits;
  std::memcpy(&bits, &backoff, 4);
  return bits != 0x80000000u;
}

#ifndef ASSISTANT_NGRAM_PREFETCH_AHEAD
#define ASSISTANT_NGRAM_PREFETCH_AHEAD 2
#endif
constexpr std::size_t kSentencePrefetchAhead = ASSISTANT_NGRAM_PREFETCH_AHEAD;  // words of a sentence
constexpr std::size_t kBatchPrefetchAhead = 4;                                  // rows of a batch

[[noreturn]] void Corrupt(const std::string& what) { throw FormatError("corrupt n-gram LM file: " + what); }

}  // namespace

// ------------------------------------------------------------------------------------------- loading

std::unique_ptr<NgramModel> NgramModel::Open(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    throw std::runtime_error("cannot stat " + path + ": " + std::strerror(err));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw FormatError(path + " is not a regular file");
  }
  std::unique_ptr<NgramModel> model(new NgramModel());
  model->size_ = static_cast<std::size_t>(st.st_size);
  if (model->size_ < sizeof(FileHeader)) {
    ::close(fd);
    throw FormatError("not an n-gram LM file (" + std::to_string(model->size_) + " bytes, shorter than the header): " + path);
  }
  void* map = ::mmap(nullptr, model->size_, PROT_READ, MAP_PRIVATE, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) throw std::runtime_error("cannot mmap " + path + ": " + std::strerror(errno));
  model->map_ = map;
  model->base_ = static_cast<const unsigned char*>(map);
  model->Validate();  // on throw, unique_ptr's destructor unmaps
  return model;
}

std::unique_ptr<NgramModel> NgramModel::FromBytes(std::string_view bytes) {
  std::unique_ptr<NgramModel> model(new NgramModel());
  if (bytes.size() < sizeof(FileHeader)) throw FormatError("not an n-gram LM file: shorter than the header");
  model->owned_.assign((bytes.size() + 7) / 8, 0);  // 8-byte aligned copy
  std::memcpy(model->owned_.data(), bytes.data(), bytes.size());
  model->base_ = reinterpret_cast<const unsigned char*>(model->owned_.data());
  model->size_ = bytes.size();
  model->Validate();
  return model;
}

NgramModel::~NgramModel() {
  if (map_ != nullptr) ::munmap(map_, size_);
}

void NgramModel::Validate() {
  std::memcpy(&header_, base_, sizeof(FileHeader));
  const FileHeader& h = header_;
  if (std::memcmp(h.magic, kMagic, sizeof(kMagic)) != 0) throw FormatError("not an n-gram LM file (bad magic)");
  if (h.version != kFormatVersion)
    throw FormatError("n-gram LM format version " + std::to_string(h.version) + ", this build reads " +
                      std::to_string(kFormatVersion));
  if (h.header_bytes != sizeof(FileHeader)) Corrupt("header size " + std::to_string(h.header_bytes));
  if (h.file_bytes != size_)
    Corrupt("truncated or padded: header says " + std::to_string(h.file_bytes) + " bytes, file has " +
            std::to_string(size_));
  const uint64_t sum = Checksum(base_, size_);
  if (sum != h.checksum) Corrupt("checksum mismatch");
  if (h.order < 1 || h.order > static_cast<uint32_t>(kMaxOrder)) Corrupt("order " + std::to_string(h.order));
  if (h.quant > static_cast<uint32_t>(Quant::kQ8)) Corrupt("quantization mode " + std::to_string(h.quant));
  order_ = static_cast<int>(h.order);
  quant_ = static_cast<Quant>(h.quant);
  const uint64_t V = h.vocab_size;
  if (V == 0) Corrupt("empty vocabulary");
  if (h.unk_id >= V || h.bos_id >= V || h.eos_id >= V) Corrupt("special word id out of range");
  if (h.vocab_buckets == 0 || (h.vocab_buckets & (h.vocab_buckets - 1)) != 0 || h.vocab_buckets <= V)
    Corrupt("vocabulary table size");

  auto check = [&](const Section& s, uint64_t expect_bytes, const char* name) {
    if (s.offset % 8 != 0 || s.offset < sizeof(FileHeader) || s.offset > size_ || s.bytes > size_ - s.offset)
      Corrupt(std::string(name) + " section lies outside the file");
    if (s.bytes != expect_bytes) Corrupt(std::string(name) + " section has the wrong size");
    return base_ + s.offset;
  };
  vocab_offsets_ = reinterpret_cast<const uint64_t*>(check(h.vocab_offsets, (V + 1) * 8, "vocab offsets"));
  vocab_strings_ = reinterpret_cast<const char*>(check(h.vocab_strings, h.vocab_strings.bytes, "vocab strings"));
  vocab_table_ = reinterpret_cast<const uint32_t*>(
      check(h.vocab_table, static_cast<uint64_t>(h.vocab_buckets) * 4, "vocab table"));
  unigrams_ = reinterpret_cast<const UnigramRecord*>(check(h.unigrams, V * sizeof(UnigramRecord), "unigrams"));
  if (vocab_offsets_[0] != 0 || vocab_offsets_[V] != h.vocab_strings.bytes) Corrupt("vocab offsets");
  for (uint64_t i = 0; i < V; ++i)
    if (vocab_offsets_[i] > vocab_offsets_[i + 1]) Corrupt("vocab offsets not monotone");

  for (int n = 2; n <= kMaxOrder; ++n) {
    const OrderTable& ot = h.tables[n - 2];
    Table& t = tables_[n];
    if (n > order_) {
      if (ot.num_entries || ot.num_slots || ot.slots.bytes) Corrupt("table for an order above the model's");
      continue;
    }
    t.top = n == order_;
    t.slot_bytes = SlotBytes(quant_, t.top);
    if (ot.num_buckets == 0 || ot.num_slots <= ot.num_buckets || ot.num_entries >= ot.num_slots ||
        ot.num_slots > (size_ / static_cast<uint64_t>(t.slot_bytes)) + 1)
      Corrupt("order " + std::to_string(n) + " table geometry");
    t.num_buckets = ot.num_buckets;
    t.num_slots = ot.num_slots;
    t.slots = check(ot.slots, ot.num_slots * t.slot_bytes, "n-gram slots");
    if (quant_ == Quant::kLossless) {
      check(ot.prob_codebook, 0, "probability codebook");
      check(ot.backoff_codebook, 0, "back-off codebook");
    } else {
      const uint64_t max_codes = quant_ == Quant::kQ8 ? 256 : 65536;
      const uint64_t pc = ot.prob_codebook.bytes / 4, bc = ot.backoff_codebook.bytes / 4;
      if (pc == 0 || pc > max_codes || (t.top ? bc != 0 : (bc < 2 || bc > max_codes)))
        Corrupt("codebook sizes of order " + std::to_string(n));
      t.prob_codebook = reinterpret_cast<const float*>(check(ot.prob_codebook, pc * 4, "probability codebook"));
      t.prob_codes = pc;
      if (!t.top) {
        t.backoff_codebook =
            reinterpret_cast<const float*>(check(ot.backoff_codebook, bc * 4, "back-off codebook"));
        t.backoff_codes = bc;
      }
    }
  }
}

uint64_t NgramModel::NumEntries(int n) const {
  if (n == 1) return header_.vocab_size;
  if (n < 2 || n > order_) return 0;
  return header_.tables[n - 2].num_entries;
}

// ------------------------------------------------------------------------------------------- vocabulary

std::string_view NgramModel::Word(uint32_t id) const {
  if (id >= header_.vocab_size) throw std::out_of_range("word id out of range");
  return std::string_view(vocab_strings_ + vocab_offsets_[id], vocab_offsets_[id + 1] - vocab_offsets_[id]);
}

uint32_t NgramModel::Index(std::string_view word) const {
  const uint64_t mask = header_.vocab_buckets - 1;
  uint64_t i = WordHash(word.data(), word.size()) & mask;
  for (uint64_t tries = 0; tries <= mask; ++tries, i = (i + 1) & mask) {
    const uint32_t id = vocab_table_[i];
    if (id == kEmptyWord) break;
    if (id < header_.vocab_size && Word(id) == word) return id;
  }
  return header_.unk_id;
}

// ------------------------------------------------------------------------------------------- lookups

template <Quant Q, bool kTop>
inline bool NgramModel::FindIn(const Table& t, uint64_t hash, Found* out) const {
  constexpr int kFp = Q == Quant::kLossless ? 8 : Q == Quant::kQ16 ? 4 : 3;
  constexpr int kCode = Q == Quant::kLossless ? 4 : Q == Quant::kQ16 ? 2 : 1;
  constexpr int kSlot = kFp + kCode * (kTop ? 1 : 2);
  constexpr int kBits = 8 * kFp;
  constexpr uint64_t kFlag = 1ULL << (kBits - 1);
  constexpr int kDispShift = kBits - 1 - kDisplacementBits;
  constexpr uint64_t kFpMask = (1ULL << kDispShift) - 1;
  constexpr uint64_t kField = kFp == 8 ? ~0ULL : (1ULL << (8 * kFp)) - 1;
  const uint64_t key = Fmix64(hash);
  uint64_t want = key & kFpMask;
  if (want == 0) want = 1;
  const uint64_t home = MulHi(key, t.num_buckets);
  const unsigned char* p = t.slots + home * kSlot;
  for (uint64_t pos = home; pos < t.num_slots; ++pos, p += kSlot) {
    uint64_t fp;
    if constexpr (kFp == 8) {
      std::memcpy(&fp, p, 8);
    } else {  // every slot is >= 4 bytes: one 4-byte load, masked
      uint32_t v;
      std::memcpy(&v, p, 4);
      fp = v & kField;
    }
    if (fp == 0) return false;  // empty: the run ends
    const uint64_t disp = (fp >> kDispShift) & kDisplacementMax;
    const bool saturated = disp == kDisplacementMax;
    // slots are in home order: an entry whose home lies past ours means ours is absent
    if (!saturated && pos - disp > home) return false;
    if ((fp & kFpMask) == want && (saturated ? pos - home >= kDisplacementMax : pos - disp == home)) {
      out->left = (fp & kFlag) != 0;
      if constexpr (Q == Quant::kLossless) {
        std::memcpy(&out->log10prob, p + kFp, 4);
        if constexpr (kTop) {
          out->log10backoff = 0.0f;
          out->extends = false;
        } else {
          std::memcpy(&out->log10backoff, p + kFp + 4, 4);
          out->extends = LosslessExtends(out->log10backoff);
        }
      } else {
        uint32_t code = 0;
        std::memcpy(&code, p + kFp, kCode);
        out->log10prob = t.prob_codebook[std::min<uint64_t>(code, t.prob_codes - 1)];
        if constexpr (kTop) {
          out->log10backoff = 0.0f;
          out->extends = false;
        } else {
          code = 0;
          std::memcpy(&code, p + kFp + kCode, kCode);
          out->log10backoff = t.backoff_codebook[std::min<uint64_t>(code, t.backoff_codes - 1)];
          out->extends = code != 0;
        }
      }
      return true;
    }
  }
  return false;
}

template <Quant Q>
inline bool NgramModel::Find(const Table& t, uint64_t hash, Found* out) const {
  return t.top ? FindIn<Q, true>(t, hash, out) : FindIn<Q, false>(t, hash, out);
}

State NgramModel::BeginSentenceState() const {
  State s{};
  s.words[0] = header_.bos_id;
  s.backoff[0] = unigrams_[header_.bos_id].log10backoff;
  s.length = order_ > 1 ? 1 : 0;
  return s;
}

State NgramModel::NullContextState() const { return State{}; }

template <Quant Q>
WordScore NgramModel::ScoreWordT(const State& in, uint32_t w, State* out) const {
  const UnigramRecord& u = unigrams_[w];
  WordScore ret{-std::fabs(u.log10prob), 1};
  State& next = *out;  // never aliases `in`
  next.words[0] = w;
  next.backoff[0] = u.log10backoff;
  int next_length = (order_ > 1 && LosslessExtends(u.log10backoff)) ? 1 : 0;
  uint64_t h = StartHash(w);
  const int max_j = HasLeftFlag(u.log10prob) ? std::min<int>(in.length, order_ - 1) : 0;
  for (int j = 0; j < max_j; ++j) {  // the n-gram (in.words[j] .. in.words[0], w) of order j + 2
    h = ExtendHash(h, in.words[j]);
    Found f;
    if (!Find<Q>(tables_[j + 2], h, &f)) break;
    ret.log10prob = f.log10prob;
    ret.ngram_length = static_cast<uint8_t>(j + 2);
    if (j + 2 < order_) {
      next.backoff[j + 1] = f.log10backoff;
      if (f.extends) next_length = j + 2;
    }
    if (!f.left) break;
  }
  // back off from every context longer than the one matched
  for (int L = ret.ngram_length; L <= in.length; ++L) ret.log10prob += in.backoff[L - 1];
  for (int i = 1; i < next_length; ++i) next.words[i] = in.words[i - 1];
  next.length = static_cast<uint8_t>(next_length);
  return ret;
}

WordScore NgramModel::ScoreWord(const State& in, uint32_t w, State* out) const {
  State next;  // `out` may alias `in`
  WordScore ret;
  switch (quant_) {
    case Quant::kLossless: ret = ScoreWordT<Quant::kLossless>(in, w, &next); break;
    case Quant::kQ16: ret = ScoreWordT<Quant::kQ16>(in, w, &next); break;
    default: ret = ScoreWordT<Quant::kQ8>(in, w, &next); break;
  }
  *out = next;
  return ret;
}

// Memory-level parallelism: the probe chain of a word depends only on word ids, not on what earlier
// probes found, so the home slots of the next words' chains are prefetched while this word is scored.
// Misses that KenLM takes one after another then overlap.
inline void NgramModel::PrefetchChain(uint32_t w, const uint32_t* ctx, std::ptrdiff_t stride, int k) const {
  uint64_t h = StartHash(w);
  const int max_j = std::min(k, order_ - 1);
  for (int j = 0; j < max_j; ++j) {
    h = ExtendHash(h, ctx[j * stride]);
    const Table& t = tables_[j + 2];
    __builtin_prefetch(t.slots + MulHi(Fmix64(h), t.num_buckets) * t.slot_bytes);
  }
}

float NgramModel::ScoreSentence(const uint32_t* words, std::size_t n, bool bos, bool eos,
                                std::vector<WordScore>* scores) const {
  switch (quant_) {
    case Quant::kLossless: return ScoreSentenceT<Quant::kLossless>(words, n, bos, eos, scores);
    case Quant::kQ16: return ScoreSentenceT<Quant::kQ16>(words, n, bos, eos, scores);
    default: return ScoreSentenceT<Quant::kQ8>(words, n, bos, eos, scores);
  }
}

template <Quant Q>
float NgramModel::ScoreSentenceT(const uint32_t* words, std::size_t n, bool bos, bool eos,
                                 std::vector<WordScore>* scores) const {
  for (std::size_t i = 0; i < n; ++i)
    if (words[i] >= header_.vocab_size) throw std::invalid_argument("word id out of range");
  // seq = [<s>] words [</s>] without copying: the word at position p
  const std::size_t first = bos ? 1 : 0, size = first + n + (eos ? 1 : 0);
  auto at = [&](std::size_t p) -> uint32_t {
    if (p < first) return header_.bos_id;
    return p - first < n ? words[p - first] : header_.eos_id;
  };
  constexpr std::size_t kAhead = kSentencePrefetchAhead;
  uint32_t ctx[kMaxOrder];
  auto prefetch = [&](std::size_t p) {
    const int k = static_cast<int>(std::min<std::size_t>(p, order_ - 1));
    for (int j = 0; j < k; ++j) ctx[j] = at(p - 1 - j);
    PrefetchChain(at(p), ctx, 1, k);
  };
  for (std::size_t p = first; kAhead && p < std::min(size, first + kAhead); ++p) prefetch(p);
  State states[2];
  states[0] = bos ? BeginSentenceState() : NullContextState();
  int cur = 0;
  float total = 0.0f;
  for (std::size_t p = first; p < size; ++p) {
    if (kAhead && p + kAhead < size) prefetch(p + kAhead);
    const WordScore s = ScoreWordT<Q>(states[cur], at(p), &states[cur ^ 1]);
    cur ^= 1;
    total += s.log10prob;
    if (scores) scores->push_back(s);
  }
  return total;
}

template <Quant Q>
void NgramModel::AdvanceT(const uint32_t* states, const int32_t* words, std::size_t n, uint32_t* next_states,
                          float* log10probs, uint8_t* ngram_lengths) const {
  const int W = order_;
  const uint32_t V = header_.vocab_size;
  constexpr std::size_t kAhead = kBatchPrefetchAhead;
  auto prefetch_row = [&](std::size_t r) {
    const uint32_t* row = states + r * W;
    const uint32_t k = row[W - 1];
    if (k <= static_cast<uint32_t>(W - 1)) PrefetchChain(static_cast<uint32_t>(words[r]), row, 1, static_cast<int>(k));
  };
  for (std::size_t r = 0; r < std::min(n, kAhead); ++r) prefetch_row(r);
  for (std::size_t r = 0; r < n; ++r) {
    if (r + kAhead < n) prefetch_row(r + kAhead);
    const uint32_t* row = states + r * W;
    const uint32_t k = row[W - 1];
    if (k > static_cast<uint32_t>(W - 1)) throw std::invalid_argument("state row " + std::to_string(r) + ": bad length");
    for (uint32_t i = 0; i < k; ++i)
      if (row[i] >= V) throw std::invalid_argument("state row " + std::to_string(r) + ": word id out of range");
    if (words[r] < 0 || static_cast<uint32_t>(words[r]) >= V)
      throw std::invalid_argument("word_ids[" + std::to_string(r) + "] out of range");
    const uint32_t w = static_cast<uint32_t>(words[r]);

    const UnigramRecord& u = unigrams_[w];
    float prob = -std::fabs(u.log10prob);
    int m = 1;
    int next_length = (W > 1 && LosslessExtends(u.log10backoff)) ? 1 : 0;
    uint64_t h = StartHash(w);
    const uint32_t max_j = HasLeftFlag(u.log10prob) ? k : 0;
    for (uint32_t j = 0; j < max_j; ++j) {
      h = ExtendHash(h, row[j]);
      Found f;
      if (!Find<Q>(tables_[j + 2], h, &f)) break;
      prob = f.log10prob;
      m = static_cast<int>(j) + 2;
      if (m < W && f.extends) next_length = m;
      if (!f.left) break;
    }
    // back-offs of the contexts row[0..L-1] for L = m .. k (absent contexts back off by 0)
    if (static_cast<uint32_t>(m) <= k) {
      if (m == 1) prob += unigrams_[row[0]].log10backoff;
      uint64_t hc = StartHash(row[0]);
      for (uint32_t L = 2; L <= k; ++L) {
        hc = ExtendHash(hc, row[L - 1]);
        if (static_cast<int>(L) < m) continue;
        Found f;
        if (Find<Q>(tables_[L], hc, &f)) prob += f.log10backoff;
      }
    }
    uint32_t* out = next_states + r * W;
    out[0] = w;
    for (int i = 1; i < W - 1; ++i) out[i] = i < next_length ? row[i - 1] : 0;
    if (next_length == 0 && W > 1) out[0] = 0;
    out[W - 1] = static_cast<uint32_t>(next_length);
    log10probs[r] = prob;
    ngram_lengths[r] = static_cast<uint8_t>(m);
  }
}

void NgramModel::Advance(const uint32_t* states, const int32_t* words, std::size_t n, uint32_t* next_states,
                         float* log10probs, uint8_t* ngram_lengths) const {
  switch (quant_) {
    case Quant::kLossless: return AdvanceT<Quant::kLossless>(states, words, n, next_states, log10probs, ngram_lengths);
    case Quant::kQ16: return AdvanceT<Quant::kQ16>(states, words, n, next_states, log10probs, ngram_lengths);
    default: return AdvanceT<Quant::kQ8>(states, words, n, next_states, log10probs, ngram_lengths);
  }
}

}  // namespace ngram
}  // namespace assistant
