// tools/kenlm_bench.cc — times KenLM's own C++ lookups for tools/bench_lm.py, which compiles it against
// the objects of the kenlm PyPI source package (compile_query_only.sh). Not part of the extension.
//
//   kenlm_bench MODEL TEXT PASSES
//
// Maps every word of TEXT (one sentence per line) to KenLM ids first (not timed), then times PASSES passes
// of FullScore over every word and </s> of every sentence, each sentence from BeginSentenceState: the
// same work as assistant's NgramModel.score_corpus. Prints one JSON line.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "lm/binary_format.hh"
#include "lm/model.hh"

namespace {

template <class Model>
int Run(const char* model_path, const char* text_path, int passes) {
  lm::ngram::Config config;
  config.load_method = util::POPULATE_OR_READ;
  config.messages = nullptr;
  const auto t0 = std::chrono::steady_clock::now();
  Model model(model_path, config);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::vector<lm::WordIndex> ids;
  std::vector<size_t> ends;
  std::ifstream in(text_path);
  std::string line, word;
  while (std::getline(in, line)) {
    std::istringstream ws(line);
    while (ws >> word) ids.push_back(model.GetVocabulary().Index(word));
    ids.push_back(model.GetVocabulary().EndSentence());
    ends.push_back(ids.size());
  }
  double total = 0.0;
  const auto t1 = std::chrono::steady_clock::now();
  for (int p = 0; p < passes; ++p) {
    size_t start = 0;
    for (size_t end : ends) {
      lm::ngram::State state = model.BeginSentenceState(), out;
      for (size_t i = start; i < end; ++i) {
        total += model.FullScore(state, ids[i], out).prob;
        state = out;
      }
      start = end;
    }
  }
  const double score_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t1).count();
  std::printf("{\"load_s\": %.6f, \"lookups\": %zu, \"score_s\": %.6f, \"log10_total_per_pass\": %.6f}\n", load_s,
              ids.size() * static_cast<size_t>(passes), score_s, total / passes);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: kenlm_bench MODEL TEXT PASSES\n";
    return 2;
  }
  lm::ngram::ModelType type;
  if (!lm::ngram::RecognizeBinary(argv[1], type)) type = lm::ngram::PROBING;  // ARPA loads as probing
  const int passes = std::atoi(argv[3]);
  switch (type) {
    case lm::ngram::PROBING: return Run<lm::ngram::ProbingModel>(argv[1], argv[2], passes);
    case lm::ngram::TRIE: return Run<lm::ngram::TrieModel>(argv[1], argv[2], passes);
    case lm::ngram::QUANT_TRIE: return Run<lm::ngram::QuantTrieModel>(argv[1], argv[2], passes);
    case lm::ngram::ARRAY_TRIE: return Run<lm::ngram::ArrayTrieModel>(argv[1], argv[2], passes);
    case lm::ngram::QUANT_ARRAY_TRIE: return Run<lm::ngram::QuantArrayTrieModel>(argv[1], argv[2], passes);
    default: std::cerr << "unsupported model type\n"; return 1;
  }
}
