# tapkiosk — run `make` or `make help` for the targets.
SHELL := /bin/bash
GO    ?= go
BIN   := bin

.DEFAULT_GOAL := help
.PHONY: help build test demo bench load hwtest fuzz deps vet clean package

help: ## show this help
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  make %-8s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## build bin/tapd, bin/tapctl, bin/kiosk and the demo kiosk bin/kiosk-demo
	$(GO) build -o $(BIN)/tapd ./cmd/tapd
	$(GO) build -o $(BIN)/tapctl ./cmd/tapctl
	$(GO) build -o $(BIN)/kiosk ./cmd/kiosk
	$(GO) build -tags demo -o $(BIN)/kiosk-demo ./cmd/kiosk

package: deps ## build the .deb and .rpm packages (tapkiosk-tapd, tapkiosk-kiosk) into dist/ with nfpm
	@GO=$(GO) packaging/build.sh

deps: ## install the Debian packages the tests and demo need (PostgreSQL, curl), if missing
	@scripts/ensure-deps.sh

vet: ## go vet and gofmt check
	$(GO) vet ./...
	$(GO) vet -tags hwtest ./fido/
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: deps vet ## run every test: unit, both stores, end-to-end binaries (installs what it needs)
	$(GO) test -count=1 -timeout 20m ./...

demo: deps build ## the whole journey: tapd on a fresh SQLite file, a demo user and pass, and the kiosk with a virtual key
	@scripts/demo.sh

bench: deps ## run the benchmarks recorded in README.md
	$(GO) test -run '^$$' -bench . -benchtime 3s -count 1 ./tap ./server ./fido ./staging
	TAPKIOSK_MEASURE=1 $(GO) test -count=1 -run KioskMeasure -v ./e2e/ | grep -E 'first frame|waiting for a key|machine time'

LOAD ?= -sessions 10000 -duration 60s -reg-rate 20
load: build ## hold 10,000 kiosk sessions with 20 registrations/s against a fresh tapd on SQLite; report latencies and rates (LOAD='-sessions N -db postgres://...' to change)
	$(GO) run ./internal/tools/load -tapd $(BIN)/tapd $(LOAD)

.PHONY: scale
SCALE ?= -cpu-quota 0.15 -rounds 3 -phase 12s -warmup 3s -sessions 2000 -signin-people 3000
scale: deps build ## polls and sign-ins a second at saturation, 1 against 2 tapd on one PostgreSQL (a throwaway cluster), each held to a 0.15-core quota, 3 rounds; needs root for the cgroups (SCALE='-db postgres://.../EMPTY_DB ...' to change)
	$(GO) run ./internal/tools/load -tapd $(BIN)/tapd -scaling $(SCALE)

hwtest: deps ## run the registration suite on a real security key (plug in one; TAPKIOSK_HW_PIN=... if it has a PIN)
	$(GO) test -count=1 -tags hwtest -run Hardware -v ./fido/

# The fuzz targets beyond the virtual key's: one per body tapd decodes, and
# the WebAuthn answers. The ceremony targets see slightly different coverage
# each run (every iteration has a fresh random challenge), which would have
# the fuzzer spend a minute minimising each input it thinks new; they
# minimise for 20 runs instead.
SERVER_FUZZ    := FuzzCreateUser FuzzImportUsers FuzzCreatePass FuzzCreateKiosk FuzzCreateAdminToken \
                  FuzzPatchTAPPolicy FuzzPatchFIDO2Policy FuzzOpenSession \
                  FuzzCreateStagingBatch FuzzImportStagingBatch FuzzPatchStagingRow
CEREMONY_FUZZ  := FuzzRegisterFIDO2 FuzzCheckKey FuzzRegisterForUser
FUZZTIME       ?= 60s
FUZZ           := GO=$(GO) FUZZTIME=$(FUZZTIME) scripts/fuzz.sh

fuzz: deps ## fuzz the virtual key, every body tapd decodes and the WebAuthn answers, a minute a target
	@$(FUZZ) fido/virtualkey FuzzPackets
	@$(FUZZ) fido/virtualkey FuzzCBOR
	@$(FUZZ) recovery FuzzChallengeOf
	@for t in $(SERVER_FUZZ); do $(FUZZ) server $$t || exit 1; done
	@for t in $(CEREMONY_FUZZ); do $(FUZZ) server $$t -fuzzminimizetime 20x || exit 1; done

clean: ## remove build output and demo state
	rm -rf $(BIN) demo dist
