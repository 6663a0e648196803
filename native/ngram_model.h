// native/ngram_model.h — a back-off n-gram LM read in place from the file ngram_format.h defines.
//
// NgramModel::Open(path) mmaps the file read-only and validates it (header, sizes, checksum) before any
// other use; FromBytes() does the same over an owned copy (the ARPA path builds the file in memory).
// The model is immutable: every method is const and safe to call from many threads at once.
//
// Two forms of scoring, identical results:
//   ScoreWord(in, w, &out)   KenLM's form: the state carries the contexts' back-offs, so scoring a word
//                            reads only the n-grams that end in it (sentence scoring).
//   Advance(rows, ...)       beam search's batched form over compact states (word ids + length, one
//                            uint32 row of `order` columns): the back-offs are read again when needed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ngram_format.h"

namespace assistant {
namespace ngram {

// A corrupt, truncated or foreign file. Bound to Python as assistant._native.NgramFormatError (ValueError).
class FormatError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Scoring state (KenLM's State): words[0] is the most recent word; backoff[i] is the log10 back-off of the
// context words[0..i]. Only the first `length` entries are meaningful.
struct State {
  uint32_t words[kMaxOrder - 1];
  float backoff[kMaxOrder - 1];
  uint8_t length;
};

struct WordScore {
  float log10prob;
  uint8_t ngram_length;  // length of the longest n-gram matched (1 = unigram)
};

class NgramModel {
 public:
  static std::unique_ptr<NgramModel> Open(const std::string& path);
  static std::unique_ptr<NgramModel> FromBytes(std::string_view bytes);
  ~NgramModel();
  NgramModel(const NgramModel&) = delete;
  NgramModel& operator=(const NgramModel&) = delete;

  int Order() const { return order_; }
  uint32_t VocabSize() const { return header_.vocab_size; }
  Quant Quantization() const { return quant_; }
  uint32_t UnkId() const { return header_.unk_id; }
  uint32_t BosId() const { return header_.bos_id; }
  uint32_t EosId() const { return header_.eos_id; }
  uint64_t FileBytes() const { return size_; }
  uint64_t NumEntries(int n) const;  // n-grams of order n (blanks included)

  uint32_t Index(std::string_view word) const;  // the <unk> id when absent
  std::string_view Word(uint32_t id) const;     // id < VocabSize()

  State BeginSentenceState() const;  // after <s>
  State NullContextState() const;    // no context

  // log10 p(w | in); writes the state after w. w must be < VocabSize().
  WordScore ScoreWord(const State& in, uint32_t w, State* out) const;

  // Total log10 probability of `words` (ids); per-word scores appended to `scores` if not null.
  float ScoreSentence(const uint32_t* words, std::size_t n, bool bos, bool eos,
                      std::vector<WordScore>* scores) const;

  // Batched advance over compact rows of `Order()` uint32: [words[0..order-2], length]. Unused word
  // columns of the output are 0, so equal states have equal rows. Throws std::invalid_argument on a row
  // or word id that is out of range.
  void Advance(const uint32_t* states, const int32_t* words, std::size_t n, uint32_t* next_states,
               float* log10probs, uint8_t* ngram_lengths) const;

 private:
  NgramModel() = default;
  void Validate();

  struct Table {
    const unsigned char* slots = nullptr;
    uint64_t num_buckets = 0;
    uint64_t num_slots = 0;
    const float* prob_codebook = nullptr;
    uint64_t prob_codes = 0;
    const float* backoff_codebook = nullptr;
    uint64_t backoff_codes = 0;
    int slot_bytes = 0;
    bool top = false;
  };
  struct Found {
    float log10prob;
    float log10backoff;
    bool extends;  // a context of some longer n-gram (or non-zero back-off): stays in the state
    bool left;     // the suffix of some longer n-gram: the probe chain goes on
  };

  // Prefetch the home slots of the chain (w), (ctx[0] w), (ctx[stride] ctx[0] w), ... for k context words.
  void PrefetchChain(uint32_t w, const uint32_t* ctx, std::ptrdiff_t stride, int k) const;
  template <Quant Q, bool kTop>
  bool FindIn(const Table& t, uint64_t hash, Found* out) const;
  template <Quant Q>
  bool Find(const Table& t, uint64_t hash, Found* out) const;
  template <Quant Q>
  WordScore ScoreWordT(const State& in, uint32_t w, State* out) const;
  template <Quant Q>
  float ScoreSentenceT(const uint32_t* words, std::size_t n, bool bos, bool eos,
                       std::vector<WordScore>* scores) const;
  template <Quant Q>
  void AdvanceT(const uint32_t* states, const int32_t* words, std::size_t n, uint32_t* next_states,
                float* log10probs, uint8_t* ngram_lengths) const;

  // storage: either an mmapped file or an owned buffer
  void* map_ = nullptr;
  std::vector<uint64_t> owned_;
  const unsigned char* base_ = nullptr;
  std::size_t size_ = 0;

  FileHeader header_{};
  int order_ = 0;
  Quant quant_ = Quant::kLossless;
  const uint64_t* vocab_offsets_ = nullptr;
  const char* vocab_strings_ = nullptr;
  const uint32_t* vocab_table_ = nullptr;
  const UnigramRecord* unigrams_ = nullptr;
  Table tables_[kMaxOrder + 1];  // index = order; 0 and 1 unused
};

}  // namespace ngram
}  // namespace assistant
