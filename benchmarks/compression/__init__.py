"""The compression benchmark: the papers' tables, reproduced on the bundled digits data.

Usage (``make benchmark`` runs the first form)::

    .venv/bin/python -m benchmarks.compression                  # digits, 5 seeds
    .venv/bin/python -m benchmarks.compression --data mnist --data-dir PATH
    .venv/bin/python -m benchmarks.compression --data fashion-mnist --jobs 2
    .venv/bin/python -m benchmarks.compression --data fashion-mnist --model lenet-5 --jobs 2
    .venv/bin/python -m benchmarks.compression --quick --out /tmp/bench   # tiny smoke run

Following Blalock et al. (2020), every method is reported with its parameters, its
multiply-accumulates (MACs), its storage and its measured CPU latency, over a full range
of sparsities, as mean ± standard deviation over several seeds, next to the magnitude and
random baselines. The network is LeNet-300-100 (Han et al. 2015, Table 1) with as many
inputs as the data has features: 64-300-100-10 on the 8×8 digits, 784-300-100-10 on
MNIST and Fashion-MNIST; on these two, ``--model lenet-5`` runs Caffe's LeNet-5
(20-50-500, the "431K" network of Han et al.), to which every method applies (neuron
removal takes the channels of its convolutions too). On Fashion-MNIST (Debian's
``dataset-fashion-mnist``, or ``--data-dir``) retraining after pruning runs at a tenth
of the learning rate, as Han et al. retrain. ``--jobs 2`` runs seeds and methods on two
processes (joblib), with the same results.

Methods (each at several sparsities, or fractions of neurons removed):

``random``          random masks, same fraction in every layer, then fine-tuning (baseline)
``magnitude_layer`` one-shot magnitude pruning, same fraction in every layer, fine-tuning
``magnitude_global`` one-shot magnitude pruning with one global threshold, fine-tuning
``iterative``       prune → fine-tune → prune more (Han et al. 2015), global threshold
``gradual``         Zhu & Gupta's (2017) cubic schedule during training, then fine-tuning
``l1_prune``        training with a proximal L1 step, global magnitude pruning, fine-tuning
``l2_prune``        training with L2 weight decay, global magnitude pruning, fine-tuning
``neurons``         removal of whole hidden neurons (a smaller dense network), fine-tuning

Every compressed model is also measured after int8 quantisation of its weights and after
k-means weight sharing (Deep Compression). The choices a method needs (λ, weight decay,
importance criterion, bits of the shared weights, number of fine-tuning epochs through
the best validation epoch) are made on the validation split; the test split is only
reported. The results go to ``benchmarks/results/``: ``compression.json`` (everything),
``compression.md`` (the tables) and PNG plots; the book's appendix page
(``book/*/benchmark-results.md``) renders the JSON with the report's functions.

Modules: ``experiment`` (configuration, methods, measurements, :func:`run`),
``report`` (headline rows, tables, glued values, plots, :func:`write_results`) and
``__main__`` (the command line).
"""
