//! The partial sort of search results, tie for tie as Redis 7.0 does it.

use std::cmp::Ordering;

/// Sorts `v` far enough that positions `0..=last` hold the smallest elements in order,
/// with the same partitioning as Redis 7.0's partial quicksort (a Bentley-McIlroy
/// quicksort that skips partitions entirely past `last`, without the later "no swaps:
/// switch to insertion sort" shortcut), so ties come out in the same order.
pub(super) fn partial_sort<T>(v: &mut [T], last: usize, cmp: &impl Fn(&T, &T) -> Ordering) {
    let mut lo = 0;
    let mut n = v.len();
    loop {
        let a = lo;
        if n < 7 {
            insertion_sort(&mut v[a..a + n], cmp);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let mut pl = a;
            let mut pn = a + n - 1;
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let r = cmp(&v[pb], &v[a]);
                if r == Ordering::Greater {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let r = cmp(&v[pc], &v[a]);
                if r == Ordering::Less {
                    break;
                }
                if r == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let pn = a + n;
        let r = (pa - a).min(pb - pa);
        swap_runs(v, a, pb - r, r);
        let r = (pd - pc).min(pn - pd - 1);
        swap_runs(v, pb, pn - r, r);
        let left = pb - pa;
        if left > 1 && a <= last {
            partial_sort_range(v, a, left, last, cmp);
        }
        let right = pd - pc;
        if right > 1 && pn - right <= last {
            lo = pn - right;
            n = right;
            continue;
        }
        return;
    }
}

fn partial_sort_range<T>(
    v: &mut [T],
    start: usize,
    len: usize,
    last: usize,
    cmp: &impl Fn(&T, &T) -> Ordering,
) {
    // Positions are relative to the sub-slice from here on.
    let sub = &mut v[start..start + len];
    let last_in = last.saturating_sub(start).min(len - 1);
    partial_sort(sub, last_in, cmp);
}

fn insertion_sort<T>(v: &mut [T], cmp: &impl Fn(&T, &T) -> Ordering) {
    for m in 1..v.len() {
        let mut l = m;
        while l > 0 && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn med3<T>(v: &[T], a: usize, b: usize, c: usize, cmp: &impl Fn(&T, &T) -> Ordering) -> usize {
    if cmp(&v[a], &v[b]) == Ordering::Less {
        if cmp(&v[b], &v[c]) == Ordering::Less {
            b
        } else if cmp(&v[a], &v[c]) == Ordering::Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Ordering::Greater {
        b
    } else if cmp(&v[a], &v[c]) == Ordering::Less {
        a
    } else {
        c
    }
}

/// Swaps the `n` elements at `a` with the `n` at `b`, pairwise in order.
fn swap_runs<T>(v: &mut [T], a: usize, b: usize, n: usize) {
    for i in 0..n {
        v.swap(a + i, b + i);
    }
}
