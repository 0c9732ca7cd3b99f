//! Work shared among a few threads: the hub's reports read and classify a
//! province's dossiers in parts, and on a machine where other work takes a
//! core now and then, a free thread takes the next part rather than waiting
//! for a busy one to finish its share.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `work` applied to every item on up to `threads` threads, the results in
/// the items' order. A panicking item is done again on the calling thread,
/// so a result is never missing.
pub fn map<'a, T: Sync, R: Send>(
    items: &'a [T],
    threads: usize,
    work: impl Fn(&'a T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let mut done: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.clamp(1, items.len().max(1)))
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, work(item)));
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    });
    done.sort_by_key(|(i, _)| *i);
    // Whatever a panicking worker left undone.
    let mut results = Vec::with_capacity(items.len());
    let mut done = done.into_iter().peekable();
    for (i, item) in items.iter().enumerate() {
        match done.next_if(|(j, _)| *j == i) {
            Some((_, r)) => results.push(r),
            None => results.push(work(item)),
        }
    }
    results
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_item_is_done_once_in_order() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            map(&items, 3, |x| x * 2),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
        assert_eq!(map(&[] as &[u32], 4, |x| *x), Vec::<u32>::new());
    }
}
