# Poplar — `make run` builds and starts the app, `make test` runs every check. Both install the
# Debian/Ubuntu packages they need first (.ci/install-deps, with sudo when not root).
GO ?= go
BIN := bin/poplar
GOTESTFLAGS ?= -race -timeout 45m
export CGO_ENABLED := 1

.PHONY: all build run test check fmt-check vet depcheck gotest bench soak clean deps-build deps-test install screenshots

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

check: fmt-check vet depcheck

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi; echo "gofmt: ok"

vet:
	$(GO) vet ./...

depcheck:
	@.ci/check-deps

gotest:
	.ci/session $(GO) test $(GOTESTFLAGS) ./...

bench: deps-test
	.ci/session $(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./storage/... ./account/...
	$(GO) run ./internal/bench

soak: deps-test
	POPLAR_SOAK=1 .ci/session $(GO) test -run 'Fault|Crash|Kill' -timeout 90m ./account/... ./storage/...

# install puts the binary, its desktop entry and icon under PREFIX (default ~/.local).
PREFIX ?= $(HOME)/.local
install: build
	install -D -m 0755 $(BIN) $(PREFIX)/bin/poplar
	install -D -m 0644 assets/icon.png $(PREFIX)/share/icons/hicolor/512x512/apps/io.github.poplar_mail.poplar.png
	install -D -m 0644 assets/poplar.desktop $(PREFIX)/share/applications/io.github.poplar_mail.poplar.desktop
	@echo "Installed Poplar in $(PREFIX)/bin (menu entry: Poplar)"

screenshots: build
	.ci/session .ci/screenshots

clean:
	rm -rf bin
