"""attune's training batches in Python: data/batching.cpp's seeded permutation
(std::mt19937_64 and attune's own Fisher-Yates) and make_batches, the classification
task's per-epoch seed and the engine's shuffled_batches, so a Python peer trains on
exactly the batches attune did.

  python3 tools/parity/attune_batches.py --self-test   # first outputs of mt19937_64(5489)
"""
import sys

MASK64 = (1 << 64) - 1


class MT19937_64:
    """std::mt19937_64 (the reference MT19937-64 of Nishimura and Matsumoto)."""

    N, M = 312, 156
    MATRIX_A = 0xB5026F5AA96619E9
    UPPER, LOWER = 0xFFFFFFFF80000000, 0x7FFFFFFF

    def __init__(self, seed):
        self.mt = [seed & MASK64]
        for i in range(1, self.N):
            prev = self.mt[-1]
            self.mt.append((6364136223846793005 * (prev ^ (prev >> 62)) + i) & MASK64)
        self.index = self.N

    def _twist(self):
        mt = self.mt
        for i in range(self.N):
            x = (mt[i] & self.UPPER) | (mt[(i + 1) % self.N] & self.LOWER)
            mt[i] = mt[(i + self.M) % self.N] ^ (x >> 1) ^ (self.MATRIX_A if x & 1 else 0)
        self.index = 0

    def __call__(self):
        if self.index >= self.N:
            self._twist()
        x = self.mt[self.index]
        self.index += 1
        x ^= (x >> 29) & 0x5555555555555555
        x ^= (x << 17) & 0x71D67FFFEDA60000
        x ^= (x << 37) & 0xFFF7EEE000000000
        x ^= x >> 43
        return x & MASK64


def seeded_permutation(n, seed):
    order = list(range(n))
    rng = MT19937_64(seed)
    for i in range(n - 1, 0, -1):
        span = i + 1
        limit = MASK64 - MASK64 % span
        while True:
            x = rng()
            if x < limit:
                break
        j = x % span
        order[i], order[j] = order[j], order[i]
    return order


def make_batches(lengths, batch_size, shuffle, bucket, seed):
    n = len(lengths)
    order = seeded_permutation(n, seed) if shuffle else list(range(n))
    if bucket:
        window = max(1, 50 * batch_size)
        for start in range(0, n, window):
            # sorted() is stable, as std::stable_sort.
            order[start:start + window] = sorted(order[start:start + window], key=lambda i: lengths[i])
    batches = [order[s:s + batch_size] for s in range(0, n, batch_size)]
    if bucket and shuffle:
        batch_order = seeded_permutation(len(batches), seed ^ 0x5BD1E995)
        batches = [batches[b] for b in batch_order]
    return batches


def shuffled_batches(items, batch_size, epoch, run_seed):
    """tasks/engine/task.cpp's shuffled_batches (image classification, recommendation)."""
    order = seeded_permutation(len(items), (run_seed * 1000003 + epoch) & MASK64)
    items = [items[i] for i in order]
    return [items[s:s + batch_size] for s in range(0, len(items), batch_size)]


def classification_epoch(lengths, batch_size, bucket, run_seed, epoch):
    """The batches of one epoch of attune's text classification (ClassificationTask::train_plan)."""
    return make_batches(lengths, batch_size, True, bucket, (run_seed * 1000003 + epoch) & MASK64)


if __name__ == "__main__":
    if sys.argv[1:] == ["--self-test"]:
        # The C++ standard fixes the 10000th output of a default-constructed mt19937_64.
        rng = MT19937_64(5489)
        for _ in range(9999):
            rng()
        value = rng()
        print(value, "ok" if value == 9981545732273789042 else "WRONG")
        sys.exit(0 if value == 9981545732273789042 else 1)
    sys.exit(__doc__)
