use std::cmp::Ordering;

use super::Elem;

const LEAF_MAX: usize = 64;
const INNER_MAX: usize = 64;
const LEAF_MIN: usize = LEAF_MAX / 4;
const INNER_MIN: usize = INNER_MAX / 4;
/// Bulk loads fill nodes to about three quarters.
const LOAD_FILL: usize = 48;

#[derive(Debug, Clone)]
enum Node {
    Leaf(Vec<Elem>),
    Inner(Inner),
}

#[derive(Debug, Clone)]
struct Inner {
    /// `seps.len() == kids.len() - 1`.
    seps: Vec<Elem>,
    sizes: Vec<usize>,
    kids: Vec<Node>,
}

impl Node {
    fn size(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(n) => n.sizes.iter().sum(),
        }
    }

    fn too_wide(&self) -> bool {
        match self {
            Node::Leaf(v) => v.len() > LEAF_MAX,
            Node::Inner(n) => n.kids.len() > INNER_MAX,
        }
    }

    fn too_narrow(&self) -> bool {
        match self {
            Node::Leaf(v) => v.len() < LEAF_MIN,
            Node::Inner(n) => n.kids.len() < INNER_MIN,
        }
    }

    /// Splits in two halves; returns the separator and the right half.
    fn split(&mut self) -> (Elem, Node) {
        match self {
            Node::Leaf(v) => {
                let right = v.split_off(v.len() / 2);
                // Both halves exact: a half that gets no more inserts (ascending
                // loads) keeps no room it will never use.
                v.shrink_to_fit();
                let sep = v.last().expect("left half is not empty").clone();
                (sep, Node::Leaf(right))
            }
            Node::Inner(n) => {
                let mid = n.kids.len() / 2;
                let kids = n.kids.split_off(mid);
                let sizes = n.sizes.split_off(mid);
                let seps = n.seps.split_off(mid);
                let up = n.seps.pop().expect("left half has a separator");
                (up, Node::Inner(Inner { seps, sizes, kids }))
            }
        }
    }

    fn insert(&mut self, e: Elem) -> Option<(Elem, Node)> {
        match self {
            Node::Leaf(v) => {
                let pos = v.partition_point(|x| x.cmp_to(e.score, &e.member) == Ordering::Less);
                if v.len() == v.capacity() {
                    // Grow by a quarter up to the split size, not double.
                    let room = (v.len() / 4).clamp(1, (LEAF_MAX + 1 - v.len()).max(1));
                    v.reserve_exact(room);
                }
                v.insert(pos, e);
            }
            Node::Inner(n) => {
                let i = n.route(e.score, &e.member);
                n.sizes[i] += 1;
                if let Some((sep, right)) = n.kids[i].insert(e) {
                    n.adopt(i, sep, right);
                }
            }
        }
        if self.too_wide() {
            Some(self.split())
        } else {
            None
        }
    }

    fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        match self {
            Node::Leaf(v) => match v.binary_search_by(|x| x.cmp_to(score, member)) {
                Ok(pos) => {
                    v.remove(pos);
                    true
                }
                Err(_) => false,
            },
            Node::Inner(n) => {
                let i = n.route(score, member);
                if !n.kids[i].remove(score, member) {
                    return false;
                }
                n.sizes[i] -= 1;
                if n.kids[i].too_narrow() {
                    n.rebalance(i);
                }
                true
            }
        }
    }
}

impl Inner {
    /// The child whose range holds (score, member).
    fn route(&self, score: f64, member: &[u8]) -> usize {
        self.seps
            .partition_point(|s| s.cmp_to(score, member) == Ordering::Less)
    }

    /// Places `right`, split off child `i`, after it.
    fn adopt(&mut self, i: usize, sep: Elem, right: Node) {
        let rs = right.size();
        self.sizes[i] -= rs;
        self.kids.insert(i + 1, right);
        self.sizes.insert(i + 1, rs);
        self.seps.insert(i, sep);
    }

    /// Child `i` is under-full: merge it with a neighbour, splitting the result again
    /// evenly when it would be too wide.
    fn rebalance(&mut self, i: usize) {
        if self.kids.len() < 2 {
            return;
        }
        let a = if i + 1 < self.kids.len() { i } else { i - 1 };
        let right = self.kids.remove(a + 1);
        let right_size = self.sizes.remove(a + 1);
        let sep = self.seps.remove(a);
        match (&mut self.kids[a], right) {
            (Node::Leaf(l), Node::Leaf(r)) => l.extend(r),
            (Node::Inner(l), Node::Inner(r)) => {
                l.seps.push(sep);
                l.seps.extend(r.seps);
                l.sizes.extend(r.sizes);
                l.kids.extend(r.kids);
            }
            _ => unreachable!("siblings have the same height"),
        }
        self.sizes[a] += right_size;
        if self.kids[a].too_wide() {
            let (sep, right) = self.kids[a].split();
            self.adopt(a, sep, right);
        }
    }
}

#[derive(Debug, Clone)]
pub struct OrderTree {
    root: Node,
    len: usize,
}

impl Default for OrderTree {
    fn default() -> Self {
        OrderTree {
            root: Node::Leaf(Vec::new()),
            len: 0,
        }
    }
}

/// Splits `n` items into the fewest chunks of at most LOAD_FILL, as even as possible.
fn chunk_sizes(n: usize) -> impl Iterator<Item = usize> {
    let chunks = n.div_ceil(LOAD_FILL).max(1);
    (0..chunks).map(move |c| n / chunks + usize::from(c < n % chunks))
}

impl OrderTree {
    /// Builds from elements sorted by (score, member), without duplicates.
    pub fn from_sorted(elems: Vec<Elem>) -> OrderTree {
        let len = elems.len();
        let mut level: Vec<(Node, Elem)> = Vec::new();
        let mut it = elems.into_iter();
        for n in chunk_sizes(len) {
            let leaf: Vec<Elem> = it.by_ref().take(n).collect();
            let Some(last) = leaf.last().cloned() else {
                break;
            };
            level.push((Node::Leaf(leaf), last));
        }
        while level.len() > 1 {
            let count = level.len();
            let mut next = Vec::new();
            let mut it = level.into_iter();
            for n in chunk_sizes(count) {
                let group: Vec<(Node, Elem)> = it.by_ref().take(n).collect();
                let mut inner = Inner {
                    seps: Vec::with_capacity(n.saturating_sub(1)),
                    sizes: Vec::with_capacity(n),
                    kids: Vec::with_capacity(n),
                };
                let mut max = None;
                for (k, (node, last)) in group.into_iter().enumerate() {
                    if k + 1 < n {
                        inner.seps.push(last.clone());
                    }
                    inner.sizes.push(node.size());
                    inner.kids.push(node);
                    max = Some(last);
                }
                next.push((Node::Inner(inner), max.expect("chunks are not empty")));
            }
            level = next;
        }
        let root = level.pop().map_or(Node::Leaf(Vec::new()), |(node, _)| node);
        OrderTree { root, len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Inserts an element known to be absent.
    pub fn insert(&mut self, e: Elem) {
        if let Some((sep, right)) = self.root.insert(e) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Vec::new()));
            let (ls, rs) = (left.size(), right.size());
            self.root = Node::Inner(Inner {
                seps: vec![sep],
                sizes: vec![ls, rs],
                kids: vec![left, right],
            });
        }
        self.len += 1;
    }

    pub fn remove(&mut self, score: f64, member: &[u8]) -> bool {
        if !self.root.remove(score, member) {
            return false;
        }
        self.len -= 1;
        loop {
            match &mut self.root {
                Node::Inner(n) if n.kids.len() == 1 => {
                    self.root = n.kids.pop().expect("one child");
                }
                _ => break,
            }
        }
        true
    }

    /// How many leading elements satisfy `pred`, which must hold for a prefix of the
    /// order and fail after it.
    pub fn count_while(&self, pred: impl Fn(&Elem) -> bool) -> usize {
        let mut node = &self.root;
        let mut acc = 0;
        loop {
            match node {
                Node::Leaf(v) => return acc + v.partition_point(&pred),
                Node::Inner(n) => {
                    let i = n.seps.partition_point(&pred);
                    acc += n.sizes[..i].iter().sum::<usize>();
                    node = &n.kids[i];
                }
            }
        }
    }

    /// The rank of (score, member) if present.
    pub fn rank(&self, score: f64, member: &[u8]) -> Option<usize> {
        let r = self.count_while(|e| e.cmp_to(score, member) == Ordering::Less);
        let e = self.select(r)?;
        (e.cmp_to(score, member) == Ordering::Equal).then_some(r)
    }

    /// The element of rank `r`.
    pub fn select(&self, mut r: usize) -> Option<&Elem> {
        if r >= self.len {
            return None;
        }
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(v) => return v.get(r),
                Node::Inner(n) => {
                    let mut i = 0;
                    while i + 1 < n.kids.len() && r >= n.sizes[i] {
                        r -= n.sizes[i];
                        i += 1;
                    }
                    node = &n.kids[i];
                }
            }
        }
    }

    /// Iterates from rank `r` upwards (or downwards with `rev`).
    pub fn iter_from(&self, mut r: usize, rev: bool) -> Iter<'_> {
        let mut stack = Vec::new();
        let remaining = if rev {
            if r >= self.len {
                0
            } else {
                r + 1
            }
        } else {
            self.len.saturating_sub(r)
        };
        if remaining == 0 {
            return Iter {
                stack,
                leaf: &[],
                pos: 0,
                remaining: 0,
                rev,
            };
        }
        let mut node = &self.root;
        loop {
            match node {
                Node::Leaf(v) => {
                    let pos = if rev { r + 1 } else { r };
                    return Iter {
                        stack,
                        leaf: v,
                        pos,
                        remaining,
                        rev,
                    };
                }
                Node::Inner(n) => {
                    let mut i = 0;
                    while i + 1 < n.kids.len() && r >= n.sizes[i] {
                        r -= n.sizes[i];
                        i += 1;
                    }
                    stack.push((n, i));
                    node = &n.kids[i];
                }
            }
        }
    }

    /// Heap bytes of the nodes (element storage, separators, size arrays).
    pub fn heap_size(&self) -> usize {
        fn walk(node: &Node) -> usize {
            let elem = std::mem::size_of::<Elem>();
            match node {
                Node::Leaf(v) => v.capacity() * elem,
                Node::Inner(n) => {
                    n.seps.capacity() * elem
                        + n.seps.iter().map(|s| s.member.heap_size()).sum::<usize>()
                        + n.sizes.capacity() * 8
                        + n.kids.capacity() * std::mem::size_of::<Node>()
                        + n.kids.iter().map(walk).sum::<usize>()
                }
            }
        }
        walk(&self.root)
    }

    /// Checks the structural invariants; returns nothing, panics on violation (tests).
    pub fn check(&self) {
        fn walk(node: &Node, lo: Option<&Elem>, hi: Option<&Elem>, root: bool) -> (usize, usize) {
            match node {
                Node::Leaf(v) => {
                    assert!(root || v.len() >= LEAF_MIN, "leaf under-full: {}", v.len());
                    assert!(v.len() <= LEAF_MAX);
                    for w in v.windows(2) {
                        assert_eq!(w[0].cmp_to(w[1].score, &w[1].member), Ordering::Less);
                    }
                    if let (Some(lo), Some(first)) = (lo, v.first()) {
                        assert_eq!(lo.cmp_to(first.score, &first.member), Ordering::Less);
                    }
                    if let (Some(hi), Some(last)) = (hi, v.last()) {
                        assert_ne!(hi.cmp_to(last.score, &last.member), Ordering::Less);
                    }
                    (v.len(), 1)
                }
                Node::Inner(n) => {
                    assert!(n.kids.len() >= if root { 2 } else { INNER_MIN });
                    assert!(n.kids.len() <= INNER_MAX);
                    assert_eq!(n.seps.len() + 1, n.kids.len());
                    assert_eq!(n.sizes.len(), n.kids.len());
                    let mut total = 0;
                    let mut depth = None;
                    for (i, kid) in n.kids.iter().enumerate() {
                        let l = if i == 0 { lo } else { Some(&n.seps[i - 1]) };
                        let h = n.seps.get(i).or(hi);
                        let (size, d) = walk(kid, l, h, false);
                        assert_eq!(size, n.sizes[i]);
                        assert!(depth.is_none_or(|x| x == d), "unbalanced");
                        depth = Some(d);
                        total += size;
                    }
                    (total, depth.unwrap_or(0) + 1)
                }
            }
        }
        let (size, _) = walk(&self.root, None, None, true);
        assert_eq!(size, self.len);
    }
}

/// In-order (or reverse) walk from a rank.
pub struct Iter<'a> {
    stack: Vec<(&'a Inner, usize)>,
    leaf: &'a [Elem],
    /// Forward: index of the next element. Reverse: one past it.
    pos: usize,
    remaining: usize,
    rev: bool,
}

impl<'a> Iter<'a> {
    /// Stops after at most `n` more elements.
    pub fn limit(mut self, n: usize) -> Self {
        self.remaining = self.remaining.min(n);
        self
    }

    fn next_leaf(&mut self) -> bool {
        loop {
            let Some((n, i)) = self.stack.pop() else {
                return false;
            };
            let next = if self.rev {
                i.checked_sub(1)
            } else {
                (i + 1 < n.kids.len()).then_some(i + 1)
            };
            let Some(next) = next else {
                continue;
            };
            self.stack.push((n, next));
            let mut node = &n.kids[next];
            loop {
                match node {
                    Node::Leaf(v) => {
                        self.leaf = v;
                        self.pos = if self.rev { v.len() } else { 0 };
                        return true;
                    }
                    Node::Inner(inner) => {
                        let k = if self.rev { inner.kids.len() - 1 } else { 0 };
                        self.stack.push((inner, k));
                        node = &inner.kids[k];
                    }
                }
            }
        }
    }
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a Elem;

    fn next(&mut self) -> Option<&'a Elem> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if self.rev {
                if self.pos > 0 {
                    self.pos -= 1;
                    break;
                }
            } else if self.pos < self.leaf.len() {
                self.pos += 1;
                break;
            }
            if !self.next_leaf() {
                self.remaining = 0;
                return None;
            }
        }
        self.remaining -= 1;
        let idx = if self.rev { self.pos } else { self.pos - 1 };
        self.leaf.get(idx)
    }
}
