# Sentori developer entry points. The work is done by deploy/local/*.sh;
# this file only names it.

LOCAL   := deploy/local
# Profile for the stack-* targets: run (make run's stack) or test.
PROFILE ?= run
# Extra arguments for cargo, e.g. make test ARGS='-p sentori-store'
ARGS    ?=

.DEFAULT_GOAL := help
.PHONY: help run stop test bench fuzz stack-start stack-stop stack-status clean-stack

help: ## list the targets
	@echo "Sentori make targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*## "} {printf "  %-13s %s\n", $$1, $$2}'
	@echo "Variables: PROFILE=run|test (stack-*), ARGS='...' (extra cargo arguments)"

run: ## build and start everything on loopback; Ctrl-C stops it
	@$(LOCAL)/run.sh

stop: ## stop what `make run` started
	@$(LOCAL)/stop.sh

test: ## run every test suite against a private test stack
	@$(LOCAL)/test.sh $(ARGS)

bench: ## run the benchmarks (cargo bench) with the test stack up
	@$(LOCAL)/bench.sh $(ARGS)

fuzz: ## run every cargo-fuzz target for FUZZ_RUNS inputs (default 1 000 000)
	@$(LOCAL)/fuzz.sh

stack-start: ## start PostgreSQL + Valkey for PROFILE
	@$(LOCAL)/stack.sh start $(PROFILE)

stack-stop: ## stop PostgreSQL + Valkey for PROFILE
	@$(LOCAL)/stack.sh stop $(PROFILE)

stack-status: ## show what runs for PROFILE
	@$(LOCAL)/stack.sh status $(PROFILE)

clean-stack: ## stop everything and delete .stack/ (data, secrets, venv)
	@$(LOCAL)/stop.sh
	@$(LOCAL)/stack.sh clean
