# Poplar — `make run` builds and starts the app, `make test` runs every check. Both install the
# Debian/Ubuntu packages they need first (.ci/install-deps, with sudo when not root).
GO ?= go
BIN := bin/poplar
GOTESTFLAGS ?= -race -timeout 45m
export CGO_ENABLED := 1

.PHONY: all build run test check fmt-check vet staticcheck depcheck gotest bench soak clean deps-build deps-test install screenshots dist dist-test

all: build

deps-build:
	@.ci/install-deps build

deps-test:
	@.ci/install-deps build test

build: deps-build
	$(GO) build -o $(BIN) .

run: build
	./$(BIN) $(ARGS)

test: deps-test check gotest

check: fmt-check vet staticcheck depcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi; echo "gofmt: ok"

vet:
	$(GO) vet ./...

# staticcheck is installed on first use (a Go module, through the module proxy), pinned.
STATICCHECK_VERSION := v0.8.2
STATICCHECK = $(shell $(GO) env GOPATH)/bin/staticcheck
staticcheck:
	@"$(STATICCHECK)" -version 2>/dev/null | grep -q "($(patsubst v%,%,$(STATICCHECK_VERSION)))" || { \
		echo "Installing honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)"; \
		$(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION); }
	"$(STATICCHECK)" ./...

depcheck:
	@.ci/check-deps

gotest:
	.ci/session $(GO) test $(GOTESTFLAGS) ./...

bench: deps-test
	.ci/session $(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./storage/... ./account/...
	$(GO) run ./internal/bench

soak: deps-test
	POPLAR_SOAK=1 .ci/session $(GO) test -run 'Fault|Crash|Kill' -timeout 90m ./account/... ./storage/...

# install packages Poplar with Fyne's packaging tool (installed on first use) and installs the
# binary, its desktop entry and icon: under ~/.local for a user, /usr/local for root.
FYNE_TOOL_VERSION := v1.7.4
FYNE_TOOL = $(shell $(GO) env GOPATH)/bin/fyne
install: deps-build
	@test -x "$(FYNE_TOOL)" || { echo "Installing Fyne's packaging tool fyne.io/tools/cmd/fyne@$(FYNE_TOOL_VERSION)"; \
		$(GO) install fyne.io/tools/cmd/fyne@$(FYNE_TOOL_VERSION); }
	"$(FYNE_TOOL)" install --release
	@# Fyne's entry cannot declare a MIME type: ours replaces it, so a file manager opens .eml with Poplar.
	@if [ "$$(id -u)" = 0 ]; then apps=/usr/local/share/applications; else apps=$${XDG_DATA_HOME:-$$HOME/.local/share}/applications; fi; \
		install -Dm644 assets/poplar.desktop "$$apps/io.github.poplar_mail.poplar.desktop"; \
		command -v update-desktop-database >/dev/null && update-desktop-database "$$apps" || true
	@echo "Installed Poplar (menu entry: Poplar; command: poplar; opens message/rfc822 files)"

screenshots: build
	.ci/session .ci/screenshots

# dist builds the release artifacts into dist/: the .deb, Fyne's linux tar.xz and the Windows zip
# (VERSION=x.y.z, default FyneApp.toml's; see README "Release"). dist-test builds them and checks
# them: dpkg-deb, lintian, desktop-file-validate, appstreamcli, and the binaries themselves
# fetching from the test Dovecot (the .exe under wine).
dist: deps-build
	@.ci/install-deps dist
	VERSION=$(VERSION) .ci/dist

dist-test: deps-test
	@.ci/install-deps dist
	VERSION=$(VERSION) .ci/dist
	VERSION=$(VERSION) .ci/session .ci/dist-test

clean:
	rm -rf bin
