# Everything goes through Bun. On a machine without it, `make setup` bootstraps the pinned version from the
# npm registry (only Node/npm needed), then installs dependencies from the lockfile.
SHELL := bash
BUN_VERSION := 1.4.5
BOOTSTRAP_BUN := .bootstrap/node_modules/.bin/bun
BUN := $(shell if [ -x node_modules/.bin/bun ]; then echo node_modules/.bin/bun; elif command -v bun >/dev/null 2>&1 && [ "$$(bun --version)" = "$(BUN_VERSION)" ]; then command -v bun; else echo $(BOOTSTRAP_BUN); fi)
TOOLS := $(basename $(notdir $(wildcard cmd/*.ts)))
BUILD_FLAGS := --compile --minify --bytecode --format=esm --splitting --no-compile-autoload-dotenv --no-compile-autoload-bunfig
TOOL ?= process-account-events

.PHONY: setup test build release bench image dev demo event run clean typecheck $(TOOLS:%=dist/%) dist/fxa-ops

setup: node_modules/.installed

$(BOOTSTRAP_BUN):
	npm install --prefix .bootstrap --no-save --no-package-lock --no-audit --no-fund bun@$(BUN_VERSION)

node_modules/.installed: package.json bun.lock | $(if $(filter $(BOOTSTRAP_BUN),$(BUN)),$(BOOTSTRAP_BUN))
	$(BUN) install --frozen-lockfile
	touch $@

test: setup
	node_modules/.bin/bun test --timeout=60000

typecheck: setup
	node_modules/.bin/tsc --noEmit -p .

build: setup $(TOOLS:%=dist/%) dist/fxa-ops

$(TOOLS:%=dist/%): dist/%: cmd/%.ts
	node_modules/.bin/bun build $(BUILD_FLAGS) $< --outfile $@

# Every tool in one executable: `fxa-ops <tool> ...`, or a symlink named after the tool (README "Deployment").
dist/fxa-ops: cmd/all/fxa-ops.ts
	node_modules/.bin/bun build $(BUILD_FLAGS) $< --outfile $@

# dist/SHA256SUMS and a dist/<binary>.version.json per binary, from a fresh build.
release: build
	bash .ci/release dist

# Every benchmark, RUNS times each (default 3), then bench/results.md and the README's copy of its tables
# (README "Benchmarks"). BENCH_ARGS="--only email-send --full" and the like go to bench/all.ts.
bench: setup
	node_modules/.bin/bun bench/all.ts $(if $(RUNS),--runs $(RUNS)) $(BENCH_ARGS)

# A FROM scratch image: the binary plus the five glibc files it needs (see Dockerfile). TOOL=all: dist/fxa-ops
# as /app with a symlink /<tool> to it for every tool.
image: build
	bash .ci/stage-image $(TOOL) build/image-$(TOOL)
	bash .ci/chroot-check build/image-$(TOOL)/rootfs --help >/dev/null && echo "root filesystem runs --help in a scratch-like chroot"
	if [ "$(TOOL)" = all ]; then for t in $(TOOLS); do CHROOT_APP=/$$t bash .ci/chroot-check build/image-all/rootfs --help | grep -q "USAGE $$t " || exit 1; done; \
	  echo "and each /<tool> symlink runs that tool's --help"; fi
	if docker info >/dev/null 2>&1; then docker build --build-arg TOOL=$(TOOL) -t fxa-ops/$(TOOL) . ; \
	elif command -v podman >/dev/null 2>&1; then podman --storage-driver vfs build --build-arg TOOL=$(TOOL) -t fxa-ops/$(TOOL) . && bash .ci/podman-image-check fxa-ops/$(TOOL); \
	else echo "no Docker daemon or podman here: root filesystem staged in build/image-$(TOOL) and checked in a chroot"; fi

# The local stack in the foreground (README "Local stack"): database, SQS, stand-ins and every tool; Ctrl-C
# stops it. DEV_DB=pglite forces the embedded database, DEV_TOOLS=dist runs the compiled binaries.
# `make dev TOOL=<tool> ARGS=...` still runs one tool from source, as `make run` does.
dev: setup
ifeq ($(origin TOOL),command line)
	node_modules/.bin/bun cmd/$(TOOL).ts $(ARGS)
else
	node_modules/.bin/bun dev/main.ts
endif

# The scripted story against a running `make dev`, else against a fresh stack (ARGS=--fresh forces one).
demo: setup
	node_modules/.bin/bun dev/demo.ts $(ARGS)

# An account event on the running stack's queue: make event EVENT='passwordChange someone@example.com'
event: setup
	node_modules/.bin/bun dev/send-event.ts $(EVENT)

# Run one tool from source: make run TOOL=process-account-events ARGS="--help"
run: setup
	node_modules/.bin/bun cmd/$(TOOL).ts $(ARGS)

clean:
	rm -rf dist build
