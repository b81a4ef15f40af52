# Poplar — `make run` builds and starts the app, `make test` runs every check. Both install the
# Debian/Ubuntu packages they need first (.ci/install-deps, with sudo when not root). `make build`
# builds two programs: bin/poplar, the command line (no GUI toolkit), and bin/poplar-gui, the
# window program that poplar hands over to.
GO ?= go
BIN := bin/poplar
GUI_BIN := bin/poplar-gui
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
	$(GO) build -o $(GUI_BIN) ./gui/cmd/poplar-gui

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

# install builds both programs for release (Fyne's release tag, stripped) and installs them, the
# desktop entry (it declares message/rfc822 and mailto, so a file manager opens .eml with Poplar)
# and the icons: under ~/.local for a user, /usr/local for root. poplar goes in bin/, poplar-gui
# in lib/poplar/, where poplar looks for it (as in the .deb).
install: deps-build
	@set -e; if [ "$$(id -u)" = 0 ]; then prefix=/usr/local; share=$$prefix/share; \
		else prefix=$$HOME/.local; share=$${XDG_DATA_HOME:-$$HOME/.local/share}; fi; \
		tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
		$(GO) build -tags release -trimpath -ldflags "-s -w" -o "$$tmp/poplar" .; \
		$(GO) build -tags release -trimpath -ldflags "-s -w" -o "$$tmp/poplar-gui" ./gui/cmd/poplar-gui; \
		install -Dm755 "$$tmp/poplar" "$$prefix/bin/poplar"; \
		install -Dm755 "$$tmp/poplar-gui" "$$prefix/lib/poplar/poplar-gui"; \
		install -Dm644 assets/poplar.desktop "$$share/applications/io.github.poplar_mail.poplar.desktop"; \
		install -Dm644 assets/icon.png "$$share/icons/hicolor/512x512/apps/io.github.poplar_mail.poplar.png"; \
		install -Dm644 assets/poplar.svg "$$share/icons/hicolor/scalable/apps/io.github.poplar_mail.poplar.svg"; \
		command -v update-desktop-database >/dev/null && update-desktop-database "$$share/applications" || true; \
		echo "Installed Poplar: $$prefix/bin/poplar, $$prefix/lib/poplar/poplar-gui, the menu entry Poplar (opens message/rfc822 files and mailto: links)"

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
