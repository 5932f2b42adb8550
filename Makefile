# Passthrough build. `make demo` and `make test` are the two commands the README promises.
SHELL := /bin/bash
DOTNET ?= dotnet
CONFIG ?= Release
PREFIX ?= /usr/local
DESTDIR ?=
ART := artifacts
BIN := $(ART)/bin/passthrough
DEMO_ROOT := $(ART)/demo-root
export DOTNET_CLI_TELEMETRY_OPTOUT := 1
export DOTNET_NOLOGO := 1
export DOTNET_SKIP_FIRST_TIME_EXPERIENCE := 1

.PHONY: all build deps test demo format format-fix install uninstall clean bench lab completions man

all: build

build:
	$(DOTNET) publish src/Passthrough.Cli/Passthrough.Cli.csproj -c $(CONFIG) -o $(ART)/bin --nologo -v quiet -p:UseAppHost=true
	@test -x $(BIN) && echo "built $(BIN)"

# Generated from the built program's command tree (`passthrough completion SHELL`, `passthrough man`).
completions: build
	@mkdir -p $(ART)/completions
	$(BIN) completion bash > $(ART)/completions/passthrough.bash
	$(BIN) completion zsh > $(ART)/completions/_passthrough
	$(BIN) completion fish > $(ART)/completions/passthrough.fish

man: build
	@rm -rf $(ART)/man
	$(BIN) man --output $(ART)/man >/dev/null
	@for page in $(ART)/man/*.1; do out=$$(groff -man -ww -z $$page 2>&1); [ -z "$$out" ] || { echo "$$page: $$out" >&2; exit 1; }; done
	@ls $(ART)/man

deps:
	tests/install-deps

test: deps build
	@rm -rf $(ART)/test; mkdir -p $(ART)/test
	$(DOTNET) build Passthrough.sln -c $(CONFIG) --nologo -v quiet
	$(DOTNET) test Passthrough.sln -c $(CONFIG) --no-build --nologo \
	  --logger "trx" --results-directory $(ART)/test 2>&1 | tee $(ART)/test/output.log; \
	  status=$${PIPESTATUS[0]}; tests/summarize $(ART)/test; exit $$status

demo: build
	@rm -rf $(DEMO_ROOT)
	$(BIN) capture expand examples/hosts/workstation.host $(DEMO_ROOT)
	@echo; echo "== passthrough --root $(DEMO_ROOT) list"; $(BIN) --root $(DEMO_ROOT) list
	@echo; echo "== passthrough --root $(DEMO_ROOT) groups"; $(BIN) --root $(DEMO_ROOT) groups
	@echo; echo "== passthrough --root $(DEMO_ROOT) doctor"; $(BIN) --root $(DEMO_ROOT) doctor || [ $$? -eq 1 ]

format:
	$(DOTNET) format Passthrough.sln --verify-no-changes -v quiet

format-fix:
	$(DOTNET) format Passthrough.sln -v quiet

bench: build
	$(DOTNET) run -c Release --project tests/Passthrough.Benchmarks -- $(BENCH_ARGS)

lab: build
	tests/lab/run

install: build
	install -d $(DESTDIR)$(PREFIX)/lib/passthrough $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/passthrough/hooks
	cp -a $(ART)/bin/. $(DESTDIR)$(PREFIX)/lib/passthrough/
	ln -sf ../lib/passthrough/passthrough $(DESTDIR)$(PREFIX)/bin/passthrough
	cp -a hooks/. $(DESTDIR)$(PREFIX)/share/passthrough/hooks/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/passthrough $(DESTDIR)$(PREFIX)/share/passthrough
	rm -f $(DESTDIR)$(PREFIX)/bin/passthrough

clean:
	rm -rf $(ART)
	$(DOTNET) clean Passthrough.sln -v quiet --nologo || true
	find src tests -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
