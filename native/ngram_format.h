// native/ngram_format.h — THE definition of the binary n-gram LM file (".lm"). The writer is
// assistant/lm/build.py, the pure-Python reader assistant/lm/_ngram_py.py; both follow this header.
//
// WHAT IS STORED
//   An ARPA back-off model of order 1..6: a vocabulary, one unigram record per word, and for every order
//   n >= 2 one open-addressing hash table of n-grams holding a fingerprint of the n-gram's 64-bit hash,
//   its log10 probability and (below the top order) its log10 back-off. Words are never stored in the
//   n-gram tables: a lookup compares fingerprints only (as KenLM's probing model compares 64-bit hashes).
//
// LAYOUT (all little-endian; every section starts at a multiple of 8 bytes)
//   FileHeader (512 bytes) | vocab offsets uint64[V+1] | vocab strings (UTF-8, concatenated)
//   | vocab hash table uint32[vocab_buckets] (word id, kEmptyWord = empty) | unigrams UnigramRecord[V]
//   | per order n = 2..N: slots uint8[num_slots * slot_bytes], prob codebook float[], back-off codebook float[]
//
// ONE N-GRAM SLOT (bytes; "top" = the highest order, which has no back-off)
//   mode      fingerprint  prob          back-off      slot   top slot   default load   bytes/n-gram
//                                                                        (mid / top)    (mid / top)
//   lossless  64 bits      float32       float32       16     12         0.65           24.6 / 18.5
//   q16       32 bits      uint16 code   uint16 code   8      6          0.80           10.0 / 7.5
//   q8        24 bits      uint8 code    uint8 code    5      4          0.80 / 0.88    6.25 / 4.5
//   (fingerprints are the field less 5 bits: 59, 27, 19 bits; bytes/n-gram = slot / load. A table's home
//   range is num_buckets = ceil(entries / load), not a power of two, so the load is what is asked for, not
//   up to 2x less as with power-of-two tables. Slot sections start on a 64-byte boundary, so no 16-byte
//   lossless slot straddles two cache lines.)
//
// ONE LOOKUP, AND WHY THIS STRUCTURE
//   key = Fmix64(hash of the word ids, right to left); home = mulhi(key, num_buckets). The fingerprint
//   field holds, from the low bits: the low (field bits - 5) bits of key (0 is reserved for "empty" and
//   maps to 1), the entry's displacement pos - home in 4 bits (15 = "15 or more"), and the LEFT flag.
//   Slots are written in home order (a sorted linear-probing table: entry i sits at max(home_i,
//   pos_{i-1} + 1)), with spare slots after num_buckets instead of wrapping around and at least one empty
//   slot at the very end, so every probe loop ends inside the table. A lookup probes from home until the
//   fingerprint (with a matching home), an empty slot, or an entry whose home lies past ours.
//   The probability and back-off are in the slot itself, so a lookup costs one random memory access (the
//   home cache line) plus a short sequential read: a hit reads (1 + 1/(1-a))/2 slots on average (a =
//   load), a miss 2.3 slots at a = 0.65 and 4.2 at a = 0.85 (measured), instead of the whole cluster
//   ((1 + 1/(1-a)^2)/2 = 23 slots at 0.85) that plain linear probing reads. A trie (KenLM's "trie",
//   DashHashLM's baseline) needs one dependent random access per order and a search inside each; these
//   per-order tables need one access per order probed, and the probe chain (w), (v w), (u v w) stops at
//   the first order that misses or whose entry has no LEFT flag. Scoring a word with context length k
//   costs at most k+1 random accesses; carrying the back-offs in the state (sentence scoring), nothing
//   else is read; with the compact state of beam search (word ids only) each back-off of a context longer
//   than the match costs one more hit. The chain's hashes depend only on word ids, so the next words'
//   home lines are prefetched while the current word is scored.
//   Fingerprint false positives: only entries with the same home are compared, so a miss matches a
//   foreign n-gram with probability ~ 2^-fp_bits (q8 ~ 2e-6; q16 and lossless < 1e-8): the price of
//   storing no words.
//
// LEFT FLAG (KenLM's independent_left)
//   Set on an n-gram that is the suffix of some (n+1)-gram. Scoring stops the probe chain at an n-gram
//   without it, so the miss at the next order (the most expensive probe: a full run) is never read. For
//   unigrams the flag is the sign bit of the stored log10 probability (set = flag; the value is -|stored|).
//
// MEASURED (tools/bench_lm.py: a 3.62 M n-gram 5-gram estimated from the Python docs, 89 k held-out
//   lookups, both libraries in one process, thread CPU time of the fastest of 30 interleaved rounds, AMD
//   EPYC with 32 MB L3 shared with other jobs; two runs): lossless 22.5 bytes/n-gram, 186-210 ns/lookup;
//   q16 9.6 B, 230-264 ns; q8 5.9 B, 200-229 ns. KenLM 0.3.0 on the same queries: probing 22.0 B,
//   226-256 ns; trie 10.4 B, 374-412 ns; trie -q 8 -b 8 5.6 B, 307-339 ns.
//
// ARPA SEMANTICS
//   p(w | h) = prob(h_m w) + sum of back-off(h_j) for j = m .. |h|, where h_m w is the longest n-gram in the
//   model; a context absent from the model has back-off 0. The writer makes the set of n-grams closed
//   under prefix and suffix by adding "blank" n-grams (probability = what back-off gives, back-off 0), as
//   KenLM does for pruned ARPA files, so the right-to-left probe chain never stops early.
//   EXTENSION: a back-off of exactly -0.0 (lossless; code 0 when quantized) marks an n-gram that is no
//   context of any longer n-gram and has back-off 0; scoring then drops it from the state (KenLM's
//   kNoExtensionBackoff), so states are as short as possible and beam search recombines more hypotheses.
//
// QUANTIZATION
//   q16 / q8 replace each probability and back-off with a code into a per-order, per-field codebook of
//   float32 centres (equal-population bins over the sorted values, the mean of each bin). Back-off codes 0
//   and 1 are reserved: 0 = 0.0 without extension, 1 = 0.0 with extension. A code past the codebook's end
//   reads its last entry (so no code can read out of bounds).
//
// INTEGRITY
//   checksum = sum over the file's 64-bit words w_i (zero-padded to 8 bytes) of w_i * (2i + 1) mod 2^64,
//   with word 3 (the checksum field itself) taken as 0. Every odd multiplier is invertible, so any change
//   of one word changes the sum. Load validates, before any other use: magic, version, header size, file
//   size, checksum, every section inside the file and of the size its counts imply, order and mode in
//   range, vocab offsets monotone, special ids below V. After that no content can make a lookup read out
//   of bounds (ids from vocab lookups are range-checked, codes are clamped, probes end at the table end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace assistant {
namespace ngram {

constexpr char kMagic[8] = {'A', 'S', 'N', 'G', 'R', 'A', 'M', '\x1a'};
constexpr uint32_t kFormatVersion = 1;
constexpr int kMaxOrder = 6;
constexpr uint32_t kEmptyWord = 0xFFFFFFFFu;
constexpr int kChecksumWordIndex = 3;  // FileHeader::checksum is the 4th 64-bit word

enum class Quant : uint32_t { kLossless = 0, kQ16 = 1, kQ8 = 2 };

#pragma pack(push, 1)
struct Section {
  uint64_t offset;  // from the start of the file, a multiple of 8
  uint64_t bytes;
};

struct OrderTable {
  uint64_t num_entries;   // n-grams of this order, blanks included
  uint64_t num_buckets;   // home range: home = mulhi(key, num_buckets)
  uint64_t num_slots;     // physical slots >= num_buckets + 1 (tail, last slot always empty)
  Section slots;          // num_slots * SlotBytes(quant, top)
  Section prob_codebook;  // float32[]; empty when lossless
  Section backoff_codebook;
};

struct FileHeader {
  char magic[8];
  uint32_t version;
  uint32_t header_bytes;  // sizeof(FileHeader)
  uint64_t file_bytes;
  uint64_t checksum;      // word 3
  uint32_t order;         // 1..kMaxOrder
  uint32_t quant;         // Quant
  uint32_t vocab_size;    // V, <unk> included
  uint32_t unk_id;
  uint32_t bos_id;        // <s>
  uint32_t eos_id;        // </s>
  uint32_t vocab_buckets; // power of two > V
  uint32_t reserved0;
  Section vocab_offsets;  // uint64[V + 1]
  Section vocab_strings;
  Section vocab_table;    // uint32[vocab_buckets]
  Section unigrams;       // UnigramRecord[V]
  OrderTable tables[kMaxOrder - 1];  // orders 2..6; unused ones are zero
  uint8_t padding[512 - 8 - 4 - 4 - 8 - 8 - 4 * 8 - 4 * 16 - (kMaxOrder - 1) * 72];
};

struct UnigramRecord {
  float log10prob;     // sign bit set = LEFT flag; the probability is -|log10prob|
  float log10backoff;  // -0.0 = no extension (see EXTENSION)
};
#pragma pack(pop)

static_assert(sizeof(Section) == 16, "Section is 16 bytes");
static_assert(sizeof(OrderTable) == 72, "OrderTable is 72 bytes");
static_assert(sizeof(FileHeader) == 512, "FileHeader is 512 bytes");
static_assert(sizeof(UnigramRecord) == 8, "UnigramRecord is 8 bytes");
static_assert(offsetof(FileHeader, checksum) == 8 * kChecksumWordIndex, "checksum is word 3");

// Slot geometry per mode.
inline int FingerprintBytes(Quant q) { return q == Quant::kLossless ? 8 : q == Quant::kQ16 ? 4 : 3; }
inline int CodeBytes(Quant q) { return q == Quant::kLossless ? 4 : q == Quant::kQ16 ? 2 : 1; }
inline int SlotBytes(Quant q, bool top) { return FingerprintBytes(q) + CodeBytes(q) * (top ? 1 : 2); }

// ---- hashing (the Python twin repeats these bit for bit) ----

inline uint64_t Fmix64(uint64_t k) {  // MurmurHash3's finalizer
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

constexpr uint64_t kWordMul = 0xC2B2AE3D27D4EB4FULL;
constexpr uint64_t kChainMul = 0x9E3779B97F4A7C15ULL;

// Hash of the n-gram (w_1 .. w_n) is built from w_n leftwards: StartHash(w_n), then ExtendHash(h, w_{n-1}),
// ... so the probe chain (w), (v w), (u v w) extends one hash per order.
inline uint64_t StartHash(uint32_t word) { return (static_cast<uint64_t>(word) + 1) * kWordMul; }
inline uint64_t ExtendHash(uint64_t h, uint32_t word) {
  return (h * kChainMul) ^ ((static_cast<uint64_t>(word) + 1) * kWordMul);
}

inline uint64_t MulHi(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}

inline uint64_t FingerprintMask(Quant q) {
  const int bits = FingerprintBytes(q) * 8;
  return bits >= 64 ? ~0ULL : ((1ULL << bits) - 1);
}

// The fingerprint field, low to high bits: fingerprint (fp bits - 5), displacement (4), LEFT flag (1).
constexpr int kDisplacementBits = 4;
constexpr uint64_t kDisplacementMax = (1u << kDisplacementBits) - 1;  // 15 = "15 or more"
inline int FingerprintBits(Quant q) { return FingerprintBytes(q) * 8 - 1 - kDisplacementBits; }
inline uint64_t Fingerprint(uint64_t key, Quant q) {
  const uint64_t fp = key & ((1ULL << FingerprintBits(q)) - 1);
  return fp == 0 ? 1 : fp;
}

// FNV-1a over the UTF-8 bytes, then Fmix64: the vocabulary hash.
inline uint64_t WordHash(const char* data, std::size_t n) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (std::size_t i = 0; i < n; ++i) {
    h ^= static_cast<unsigned char>(data[i]);
    h *= 0x100000001b3ULL;
  }
  return Fmix64(h);
}

// Checksum over `bytes` bytes (see INTEGRITY); the tail is zero-padded to a whole word.
inline uint64_t Checksum(const unsigned char* data, std::size_t bytes) {
  uint64_t sum = 0;
  const std::size_t words = bytes / 8;
  for (std::size_t i = 0; i < words; ++i) {
    uint64_t w;
    std::memcpy(&w, data + 8 * i, 8);
    if (i == kChecksumWordIndex) w = 0;
    sum += w * (2 * static_cast<uint64_t>(i) + 1);
  }
  if (bytes % 8) {
    uint64_t w = 0;
    std::memcpy(&w, data + 8 * words, bytes % 8);
    if (words == kChecksumWordIndex) w = 0;
    sum += w * (2 * static_cast<uint64_t>(words) + 1);
  }
  return sum;
}

}  // namespace ngram
}  // namespace assistant
