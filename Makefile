# iam-watchdog. `make demo` and `make test` set up everything they need on a fresh machine.
GO        ?= go
TOOLS     := $(CURDIR)/.tools
RIE       := $(TOOLS)/aws-lambda-rie
# Pinned so that every machine and CI run the same emulator.
RIE_PKG   := github.com/aws/aws-lambda-runtime-interface-emulator/cmd/aws-lambda-rie@v0.0.0-20261030222936-bef5c4ba774d
LAMBDA_LDFLAGS := -s -w
FUZZTIME  ?= 30s

export AWS_LAMBDA_RIE := $(RIE)

# moto_server, cfn-lint and the AWS SAM translator: used from PATH when there, else installed
# by `make tools` into this virtual environment (scripts/python-tools.sh), whose bin/ comes first
# on PATH for every command make runs, and then .tools/bin (where moto_server is linked when
# PATH has it as a pyenv shim). PIP_INSTALL_FLAGS adds pip options (a mirror;
# --no-index --find-links DIR on a machine without PyPI).
VENV      := $(TOOLS)/venv
PIP_INSTALL_FLAGS ?=
export PATH := $(VENV)/bin:$(TOOLS)/bin:$(PATH)

.PHONY: all build test demo lint deploy tools bench corpus fuzz clean peers

all: build

## build: the CLI in bin/ and the Lambda bootstraps in bin/lambda/
build: bin/watchdog
	$(MAKE) build-WatchdogFunction ARTIFACTS_DIR=$(CURDIR)/bin/lambda/watchdog
	$(MAKE) build-SlackActionsFunction ARTIFACTS_DIR=$(CURDIR)/bin/lambda/slack-actions
	$(MAKE) build-AuditFunction ARTIFACTS_DIR=$(CURDIR)/bin/lambda/audit
	$(MAKE) build-ReplayFunction ARTIFACTS_DIR=$(CURDIR)/bin/lambda/replay

bin/watchdog: FORCE
	$(GO) build -trimpath -o $@ ./cmd/watchdog

# CONFIG=FILE bundles a config file with every function, as watchdog.yaml beside the bootstrap,
# where they read it (WATCHDOG_CONFIG overrides): `CONFIG=watchdog.yaml make deploy`.
CONFIG ?=
define bundle-config
@if [ -n "$(CONFIG)" ]; then policy_file="$(CONFIG)"; test -f "$$policy_file" || { echo "CONFIG=$(CONFIG): no such file" >&2; exit 1; }; cp "$$policy_file" $(ARTIFACTS_DIR)/watchdog.yaml; fi
endef

# SAM (BuildMethod: makefile) calls this with ARTIFACTS_DIR set; the function runs on
# provided.al2023 / arm64, with the lambda.norpc tag that drops the unused RPC mode.
build-WatchdogFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="$(LAMBDA_LDFLAGS)" -o $(ARTIFACTS_DIR)/bootstrap ./functions/watchdog
	$(bundle-config)

# The Slack app's interactivity endpoint (template.yaml SlackActionsFunction), built the same way.
build-SlackActionsFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="$(LAMBDA_LDFLAGS)" -o $(ARTIFACTS_DIR)/bootstrap ./functions/slack-actions
	$(bundle-config)

# The scheduled audit (template.yaml AuditFunction), built the same way.
build-AuditFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="$(LAMBDA_LDFLAGS)" -o $(ARTIFACTS_DIR)/bootstrap ./functions/audit
	$(bundle-config)

# The replay function of the optional stack infra/replay.yaml (`sam build -t infra/replay.yaml`),
# for `watchdog replay --lambda`. It reads its configuration from each request: no config file.
build-ReplayFunction:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags="$(LAMBDA_LDFLAGS)" -o $(ARTIFACTS_DIR)/bootstrap ./functions/replay

## demo: replay the bundled events through the whole pipeline; alerts rendered in the terminal
demo:
	$(GO) run ./cmd/watchdog demo

## tools: what the tests need: aws-lambda-rie (go install into .tools/), and moto_server,
## cfn-lint and samtranslator from PATH or, when missing, pip-installed into .tools/venv
tools: $(RIE)
	@PIP_INSTALL_FLAGS='$(PIP_INSTALL_FLAGS)' ./scripts/python-tools.sh $(VENV)

$(RIE):
	@mkdir -p $(TOOLS)
	@echo "tools: building aws-lambda-rie into $(TOOLS) (first run only; Go downloads its modules)"
	GOBIN=$(TOOLS) $(GO) install $(RIE_PKG)

## test: every test, against real local moto_server, Slack API servers and aws-lambda-rie, and
## every fuzz target for 3s beside them (many tests wait on servers and emulators: the fuzzing
## uses the idle cores); the fuzzing's output goes to .tools/fuzz-short.log and is shown after
## the tests, and either failing fails `make test`. go test runs without its own vet (the whole
## of go vet has just run) and links without DWARF (-ldflags=-w: only debuggers read it; stack
## traces do not), which takes a quarter off building the test binaries. Vet and the tests build
## as the bootstraps and the CLI that tests build (TEST_BUILD: -trimpath, no cgo, as deployed
## to Lambda), so that the module's packages are compiled once for all of them, not twice.
## The tests' processes collect garbage at GOGC=400 (TEST_GOGC), not Go's 100: they live for
## seconds, and the packages that parse large hostile or generated inputs spent a third of their
## CPU collecting (pkg/cloudtrail 17 s of CPU at 100, 10 s at 400); only memory grows, and no
## test bounds the heap's size (those that bound memory count bytes allocated, which GOGC leaves
## as it is; the go command and its compiles get it too, which measured no different). `make
## bench` keeps Go's default, as deployed. go test runs three packages at once (TEST_P), not one
## per core: many tests wait on servers, emulators and deadlines, and with two at once the CPU
## sat idle a tenth of a cold run (89% busy, sampled each second; with three, 97%).
TEST_BUILD := CGO_ENABLED=0 GOFLAGS="$(GOFLAGS) -trimpath"
TEST_GOGC ?= 400
TEST_P ?= 3
test: tools
	@echo "test: go vet ./..."
	$(TEST_BUILD) $(GO) vet ./...
	@echo "test: go test ./... (packages build and start their own moto_server, local Slack and aws-lambda-rie; quiet until each package ends)"
	@echo "test: and, beside it, every fuzz target for 3s (make fuzz-short > .tools/fuzz-short.log)"
	@$(MAKE) --no-print-directory fuzz-short >$(TOOLS)/fuzz-short.log 2>&1 & fuzz=$$!; \
	  GOGC=$(TEST_GOGC) $(TEST_BUILD) $(GO) test -p $(TEST_P) -vet=off -ldflags=-w -count=1 ./...; tests=$$?; \
	  wait $$fuzz; fuzzed=$$?; \
	  echo "test: fuzz-short (.tools/fuzz-short.log):"; cat $(TOOLS)/fuzz-short.log; \
	  [ $$tests -eq 0 ] || echo "test: go test failed"; \
	  [ $$fuzzed -eq 0 ] || echo "test: fuzz-short failed"; \
	  [ $$tests -eq 0 ] && [ $$fuzzed -eq 0 ]

## peers: agreement with other projects' test events per category (a report, not a gate).
## PEERS_DIR is where their cases are; it exists only beside this repository (without it: a note, exit 0)
PEERS_DIR ?= ../shared/testdata/peers
peers:
	$(GO) run ./cmd/peers "$(PEERS_DIR)"

## lint: go vet, and cfn-lint on every template (template.yaml and infra/*.yaml)
lint: tools
	$(GO) vet ./...
	cfn-lint template.yaml infra/*.yaml

## deploy: build and deploy with AWS SAM to the current account (deploy in us-east-1; see README)
deploy:
	sam build && sam deploy --guided

## corpus: generate the benchmark corpus once (scripts/bench.sh): BENCH_SIZE of CloudTrail logs in S3
## layout under .bench/, one day of three accounts
BENCH_SIZE ?= 1100MB
corpus:
	@BENCH_CORPUS_ONLY=1 BENCH_SIZE=$(BENCH_SIZE) GO="$(GO)" ./scripts/bench.sh

## bench: replay vs decompression, gzip and jq, and the Lambda's size, INIT and warm invokes (scripts/bench.sh)
bench: tools
	@command -v jq >/dev/null || { echo "bench needs jq: sudo apt-get install -y jq"; exit 1; }
	BENCH_SIZE=$(BENCH_SIZE) ./scripts/bench.sh

## fuzz: run every fuzz target for FUZZTIME each (of the packages FUZZ_PKGS, default all)
FUZZ_PKGS ?= ./...
## (scripts/fuzz.sh: a bare "context deadline exceeded" as FUZZTIME ends, with no failing input,
## is Go 1.26's coordinator race, go.dev/issue/75804, and is tried once more)
fuzz:
	@GO="$(GO)" ./scripts/fuzz.sh $(FUZZTIME) $(FUZZ_PKGS)

.PHONY: fuzz-short bench-load

## fuzz-short: every fuzz target for 3s (part of `make test`). New inputs are minimised for 10 runs,
## not for a time: a time budget can outlast -fuzztime, which go test reports as "context deadline exceeded".
fuzz-short:
	$(MAKE) fuzz FUZZTIME=3s GOFLAGS="$(GOFLAGS) -fuzzminimizetime=10x"

## bench-load: 10,000 mixed events (1% risky) through 16 concurrent handlers against moto_server and
## the local Slack (pkg/eventhandler TestLoad): handling time p50/p99 and peak memory, in .bench/load.txt
LOAD_EVENTS ?= 10000
bench-load: tools
	@mkdir -p .bench
	$(GO) test -count=1 -run '^TestLoad$$' ./pkg/eventhandler/ -args -load.events=$(LOAD_EVENTS) -load.report=$(CURDIR)/.bench/load.txt
	@cat .bench/load.txt

clean:
	rm -rf bin .aws-sam

FORCE:
