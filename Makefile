# Set-up and everyday commands. `make demo` and `make test` create the virtual environment themselves.
VENV ?= .venv
PYTHON := $(abspath $(VENV))/bin/python
SAMPLE ?= sample
# pytest processes for `make test`: most of the suite's time is single-threaded start-up and tracing.
TEST_WORKERS ?= 2

.PHONY: demo test lint sample clean shipped-model

$(VENV)/.installed: requirements.txt requirements-extras.txt requirements-dev.txt pyproject.toml
	python3 -m venv $(VENV)
	$(PYTHON) -m pip install --quiet --upgrade pip
	$(PYTHON) -m pip install --quiet -r requirements-dev.txt
	$(PYTHON) -m pip install --quiet --no-deps -e .
	touch $@

sample: $(VENV)/.installed
	$(PYTHON) make_sample.py --out $(SAMPLE)

demo: sample
	cd $(SAMPLE) && $(PYTHON) $(CURDIR)/trainer.py 64 4 8 1e-3
	cd $(SAMPLE) && $(PYTHON) $(CURDIR)/generate_predictions.py 64
	cd $(SAMPLE) && $(PYTHON) $(CURDIR)/show_results.py 64 --no-windows --count 3 --seed 0

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

test: lint
	$(PYTHON) -m pytest --numprocesses $(TEST_WORKERS)

# Re-make the model that comes with the suite: the original's own command, with today's defaults
# (`unzip stage1_train.zip -d stage1_train` here first; README, "The model that comes with the suite").
shipped-model: $(VENV)/.installed
	$(PYTHON) trainer_balanced_data.py 256 50 16 1e-3 --out models/dsb2018

clean:
	rm -rf $(SAMPLE) results my_model my_balanced_model predictions_report.csv submission_*.csv
