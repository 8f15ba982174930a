# chatlab: make demo (no root needed), make test (what CI runs).
GO      ?= go
BIN     := bin
CMDS    := chat sniff lesson
FUZZTIME ?= 30s
FUZZRETRY ?= 500x

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

# The classroom comparison: lesson 1 (a plain chat, read off the wire) and
# lesson 2 (the same chat, secure), without pauses. No root needed: without
# capture permission the lessons watch through an in-process relay tap.
demo: build
	$(BIN)/lesson 1 --auto
	$(BIN)/lesson 2 --auto
	@echo
	@echo "The same lessons in a browser, for a projector: $(BIN)/lesson 1 --web 127.0.0.1:8080"
	@echo "(and lesson 2), then open http://127.0.0.1:8080/; sniff --web does the same for a capture."

# Every Fuzz* target in every package, FUZZTIME each, starting from the
# seeds in testdata/ (and any corpus go test has saved there). Go 1.26's
# fuzz coordinator can report "context deadline exceeded" as the time runs
# out on a loaded machine, with no failing input (go.dev/issue/75804): such
# a run is tried once more, for a count of executions (FUZZRETRY), which
# has no deadline to race. A failing input always fails.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
			echo "== $$pkg $$f"; \
			budget=$(FUZZTIME); \
			for try in 1 2; do \
				out=$$($(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $$budget $$pkg 2>&1); rc=$$?; \
				echo "$$out" | tail -n 3; \
				[ $$rc -eq 0 ] && break; \
				if [ $$try -eq 1 ] && echo "$$out" | grep -q 'context deadline exceeded' && \
					! echo "$$out" | grep -q 'Failing input written'; then \
					echo "(the fuzz coordinator's deadline race, no failing input: once more, $(FUZZRETRY))"; \
					budget=$(FUZZRETRY); continue; \
				fi; \
				echo "$$out"; exit 1; \
			done; \
		done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf $(BIN)
