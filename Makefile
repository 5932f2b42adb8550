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

.PHONY: all build deps deps-build test demo format format-fix install uninstall clean bench bench-micro lab completions man

all: build

# NativeAOT publish: one native executable, artifacts/bin/passthrough, nothing beside it (the debug
# symbols go to artifacts/symbols). `make install` copies artifacts/bin as it is.
build: deps-build
	@rm -rf $(ART)/publish
	$(DOTNET) publish src/Passthrough.Cli/Passthrough.Cli.csproj -c $(CONFIG) -r linux-x64 -o $(ART)/publish --nologo -v quiet
	@rm -rf $(ART)/bin $(ART)/symbols; mkdir -p $(ART)/bin $(ART)/symbols
	@cp $(ART)/publish/passthrough $(BIN); if [ -f $(ART)/publish/passthrough.dbg ]; then cp $(ART)/publish/passthrough.dbg $(ART)/symbols/; fi
	@rm -rf $(ART)/publish
	@test -x $(BIN) && echo "built $(BIN) (native, $$(du -h $(BIN) | cut -f1))"

# Only the toolchain `make build` needs, so `make demo` works from a clean clone on a fresh Debian 12.
deps-build:
	@tests/install-deps build

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

# The tests install the .deb (tests/Passthrough.Cli.Tests/Packaging), so it is built first.
test: deps build deb
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

# Whole processes side by side (passthrough against lspci -nnk and virt-xml), with the goals of issue 12.
bench: deps build
	tests/bench/run

# The BenchmarkDotNet micro-benchmarks (BENCH_ARGS as BenchmarkDotNet takes them).
bench-micro: build
	$(DOTNET) run -c Release --project tests/Passthrough.Benchmarks -- $(BENCH_ARGS)

lab: build
	LAB_BUILT=1 tests/lab/run

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/passthrough/hooks
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/passthrough
	cp -a hooks/. $(DESTDIR)$(PREFIX)/share/passthrough/hooks/

uninstall:
	rm -rf $(DESTDIR)$(PREFIX)/lib/passthrough $(DESTDIR)$(PREFIX)/share/passthrough
	rm -f $(DESTDIR)$(PREFIX)/bin/passthrough

.PHONY: dist rpm deb packages ansible
# Packages (src/packaging/): one version, <Version> in Directory.Build.props (src/packaging/version).
# `make dist`: artifacts/passthrough-VERSION.tar.gz, `git archive` of HEAD (committed files only) plus
# the spec with its version filled in, so `rpmbuild -ta` takes it as it is.
dist:
	@version=$$(src/packaging/version) && mkdir -p $(ART) && \
	  sed "s/@VERSION@/$$version/g" src/packaging/rpm/passthrough.spec.in > $(ART)/passthrough.spec && \
	  git archive --format=tar.gz --prefix=passthrough-$$version/ --add-file=$(ART)/passthrough.spec \
	    -o $(ART)/passthrough-$$version.tar.gz HEAD && rm $(ART)/passthrough.spec && \
	  echo "built $(ART)/passthrough-$$version.tar.gz (HEAD $$(git rev-parse --short HEAD))" && \
	  { git diff --quiet HEAD || echo "note: uncommitted changes are not in the tarball (git archive takes HEAD)."; }

# `make rpm` / `make deb`: package what `make build`, `make completions` and `make man` left; they fail
# when the hook script, a completion or passthrough.1 is missing or artifacts/bin holds more than the
# native binary (src/packaging/check-inputs), and when rpmlint or lintian finds an error.
rpm: build completions man
	src/packaging/rpm/build-rpm

deb: build completions man
	src/packaging/deb/build-deb

packages: rpm deb

# `make ansible`: the Ansible collection (src/ansible) as artifacts/ansible/passthrough-vfio-VERSION.tar.gz.
ansible:
	@mkdir -p $(ART)/ansible
	ansible-galaxy collection build src/ansible/ansible_collections/passthrough/vfio --output-path $(ART)/ansible --force

clean:
	rm -rf $(ART)
	$(DOTNET) clean Passthrough.sln -v quiet --nologo || true
	find src tests -type d \( -name bin -o -name obj \) -prune -exec rm -rf {} +
