//! CPU-bound work over many items on all cores with scoped threads, in order: the ledger's
//! block signature verification, the node's admission batches and the bench's presigning.
//! A panic in a worker is raised again in the caller.

/// Cores to spread work over (1 where unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Runs `f` over consecutive chunks of `items` (at most `threads` chunks of at least
/// `min_chunk` items each), one scoped thread per chunk; the results in chunk order. One chunk
/// runs on the calling thread.
pub fn parallel_chunks<T: Sync, R: Send>(
    items: &[T],
    threads: usize,
    min_chunk: usize,
    f: impl Fn(&[T]) -> R + Sync,
) -> Vec<R> {
    if items.is_empty() {
        return Vec::new();
    }
    let chunk = items.len().div_ceil(threads.max(1)).max(min_chunk.max(1));
    if chunk >= items.len() {
        return vec![f(items)];
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = items.chunks(chunk).map(|c| s.spawn(|| f(c))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// Maps `f` over `items` on all cores, keeping order (fewer than 16 items: on this thread).
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = cores();
    if items.len() < 16 || threads == 1 {
        return items.iter().map(&f).collect();
    }
    parallel_chunks(items, threads, 1, |c| c.iter().map(&f).collect::<Vec<R>>())
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_order_of_the_items() {
        let items: Vec<u32> = (0..1_000).collect();
        let doubled = parallel_map(&items, |x| x * 2);
        assert_eq!(doubled, items.iter().map(|x| x * 2).collect::<Vec<_>>());
        let sums = parallel_chunks(&items, 4, 64, |c| c.iter().sum::<u32>());
        assert_eq!(sums.len(), 4);
        assert_eq!(sums.iter().sum::<u32>(), items.iter().sum::<u32>());
        assert_eq!(parallel_chunks(&items, 8, 600, |c| c.len()), vec![600, 400]);
        assert!(parallel_chunks(&[] as &[u32], 4, 1, |c| c.len()).is_empty());
    }

    #[test]
    #[should_panic(expected = "worker")]
    fn a_worker_panic_reaches_the_caller() {
        let items: Vec<u32> = (0..100).collect();
        parallel_chunks(&items, 4, 1, |c| {
            if c.contains(&99) {
                panic!("worker");
            }
        });
    }
}
