# chatlab: make demo (no root needed), make test (what CI runs).
GO      ?= go
BIN     := bin
CMDS    := chat sniff lesson
FUZZTIME ?= 30s

.PHONY: all build test vet fmt-check demo fuzz bench clean

all: build

build:
	@mkdir -p $(BIN)
	@for c in $(CMDS); do \
		if [ -d cmd/$$c ]; then CGO_ENABLED=0 $(GO) build -o $(BIN)/$$c ./cmd/$$c || exit 1; fi; \
	done

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

test: vet fmt-check
	$(GO) test -race -count=1 ./...

# Until the lessons run it, the demo is a short scripted chat, plain then
# secure, on a spare loopback port with a throwaway key.
DEMO_ADDR ?= 127.0.0.1:9077
demo: build
	@tmp=$$(mktemp -d); trap 'rm -rf $$tmp' EXIT; \
	for mode in plain secure; do \
		echo "== $$mode chat =="; \
		$(BIN)/chat server --$$mode --listen $(DEMO_ADDR) --key $$tmp/server.key --quiet & pid=$$!; \
		sleep 1; \
		(sleep 0.5; echo "hello bob, this is alice"; sleep 1) | $(BIN)/chat client --$$mode --connect $(DEMO_ADDR) --name alice --known $$tmp/known & \
		(echo "hi alice"; sleep 1.5) | $(BIN)/chat client --$$mode --connect $(DEMO_ADDR) --name bob --known $$tmp/known; \
		wait %2 2>/dev/null; kill $$pid; wait $$pid 2>/dev/null; \
	done; true

# Every Fuzz* target in every package, FUZZTIME each, starting from the
# seeds in testdata/ (and any corpus go test has saved there).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
		done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
