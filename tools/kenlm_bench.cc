// tools/kenlm_bench.cc — times KenLM's C++ lookups and ours in one process, for tools/bench_lm.py, which
// compiles it against the objects of the kenlm PyPI source package (compile_query_only.sh) and
// native/ngram_model.cc. Not part of the extension.
//
//   kenlm_bench TEXT ROUNDS kenlm:MODEL ours:MODEL ...
//
// Every model maps every word of TEXT (one sentence per line) to its own ids first (not timed). Then, for
// ROUNDS rounds, each model in turn scores every word and </s> of every sentence from <s> (KenLM's
// FullScore loop; our ScoreSentence, the loop behind NgramModel.score_corpus). Interleaving the models
// round by round and keeping each one's fastest round makes the comparison fair on a shared machine.
// Prints one JSON line per model.
#include <algorithm>
#include <time.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "lm/binary_format.hh"
#include "lm/model.hh"
#include "ngram_model.h"

namespace {

using Clock = std::chrono::steady_clock;

// CPU time of this thread: on a shared machine it leaves out the time the thread waits for a core.
double ThreadCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

std::vector<std::vector<std::string>> ReadText(const char* path) {
  std::vector<std::vector<std::string>> out;
  std::ifstream in(path);
  std::string line, word;
  while (std::getline(in, line)) {
    std::istringstream ws(line);
    out.emplace_back();
    while (ws >> word) out.back().push_back(word);
  }
  return out;
}

struct Runner {
  std::string name;
  double load_s = 0;
  std::size_t lookups = 0;
  double best_s = 1e30;      // fastest round, wall clock
  double best_cpu_s = 1e30;  // fastest round, thread CPU time
  double log10_total = 0;
  std::function<double()> pass;  // returns the total log10 probability
  std::shared_ptr<void> keep;
};

template <class Model>
Runner MakeKenlm(const std::string& path, const std::vector<std::vector<std::string>>& text) {
  lm::ngram::Config config;
  config.load_method = util::POPULATE_OR_READ;
  config.messages = nullptr;
  Runner r;
  const auto t0 = Clock::now();
  auto model = std::make_shared<Model>(path.c_str(), config);
  r.load_s = std::chrono::duration<double>(Clock::now() - t0).count();
  auto ids = std::make_shared<std::vector<lm::WordIndex>>();
  auto ends = std::make_shared<std::vector<std::size_t>>();
  for (const auto& s : text) {
    for (const auto& w : s) ids->push_back(model->GetVocabulary().Index(w));
    ids->push_back(model->GetVocabulary().EndSentence());
    ends->push_back(ids->size());
  }
  r.lookups = ids->size();
  r.keep = model;
  r.pass = [model, ids, ends]() {
    double total = 0;
    std::size_t start = 0;
    for (std::size_t end : *ends) {
      lm::ngram::State state = model->BeginSentenceState(), out;
      for (std::size_t i = start; i < end; ++i) {
        total += model->FullScore(state, (*ids)[i], out).prob;
        state = out;
      }
      start = end;
    }
    return total;
  };
  return r;
}

Runner MakeKenlmAny(const std::string& path, const std::vector<std::vector<std::string>>& text) {
  lm::ngram::ModelType type;
  if (!lm::ngram::RecognizeBinary(path.c_str(), type)) type = lm::ngram::PROBING;
  switch (type) {
    case lm::ngram::PROBING: return MakeKenlm<lm::ngram::ProbingModel>(path, text);
    case lm::ngram::TRIE: return MakeKenlm<lm::ngram::TrieModel>(path, text);
    case lm::ngram::QUANT_TRIE: return MakeKenlm<lm::ngram::QuantTrieModel>(path, text);
    case lm::ngram::ARRAY_TRIE: return MakeKenlm<lm::ngram::ArrayTrieModel>(path, text);
    case lm::ngram::QUANT_ARRAY_TRIE: return MakeKenlm<lm::ngram::QuantArrayTrieModel>(path, text);
    default: throw std::runtime_error("unsupported kenlm model type");
  }
}

Runner MakeOurs(const std::string& path, const std::vector<std::vector<std::string>>& text) {
  using assistant::ngram::NgramModel;
  Runner r;
  const auto t0 = Clock::now();
  std::shared_ptr<NgramModel> model(NgramModel::Open(path).release());
  r.load_s = std::chrono::duration<double>(Clock::now() - t0).count();
  auto ids = std::make_shared<std::vector<uint32_t>>();
  auto ends = std::make_shared<std::vector<std::size_t>>();
  for (const auto& s : text) {
    for (const auto& w : s) ids->push_back(model->Index(w));
    ends->push_back(ids->size());
  }
  r.lookups = ids->size() + text.size();
  r.keep = model;
  r.pass = [model, ids, ends]() {
    double total = 0;
    std::size_t start = 0;
    for (std::size_t end : *ends) {
      total += model->ScoreSentence(ids->data() + start, end - start, true, true, nullptr);
      start = end;
    }
    return total;
  };
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::cerr << "usage: kenlm_bench TEXT ROUNDS kenlm:MODEL|ours:MODEL ...\n";
    return 2;
  }
  const auto text = ReadText(argv[1]);
  const int rounds = std::atoi(argv[2]);
  std::vector<Runner> runners;
  for (int i = 3; i < argc; ++i) {
    const std::string arg = argv[i];
    const auto colon = arg.find(':');
    const std::string kind = arg.substr(0, colon), path = arg.substr(colon + 1);
    Runner r = kind == "kenlm" ? MakeKenlmAny(path, text) : MakeOurs(path, text);
    r.name = arg;
    runners.push_back(std::move(r));
  }
  for (auto& r : runners) r.log10_total = r.pass();  // warm
  for (int round = 0; round < rounds; ++round) {
    for (auto& r : runners) {
      const auto t0 = Clock::now();
      const double c0 = ThreadCpuSeconds();
      r.log10_total = r.pass();
      r.best_cpu_s = std::min(r.best_cpu_s, ThreadCpuSeconds() - c0);
      r.best_s = std::min(r.best_s, std::chrono::duration<double>(Clock::now() - t0).count());
    }
  }
  for (const auto& r : runners)
    std::printf("{\"model\": \"%s\", \"load_s\": %.6f, \"lookups\": %zu, \"best_pass_s\": %.6f, "
                "\"ns_per_lookup\": %.3f, \"cpu_ns_per_lookup\": %.3f, \"log10_total\": %.6f}\n",
                r.name.c_str(), r.load_s, r.lookups, r.best_s, r.best_s / r.lookups * 1e9,
                r.best_cpu_s / r.lookups * 1e9, r.log10_total);
  return 0;
}
