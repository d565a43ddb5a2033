//! `DenseMap`: a map from the dense, per-namespace record ids (1, 2, 3, …) to values, stored as a
//! vector. Lookups are an index, not a hash: the catalog does tens of thousands of them per query.

/// A map from small dense u64 ids to values.
#[derive(Debug, Clone)]
pub struct DenseMap<V> {
    slots: Vec<Option<V>>,
    len: usize,
}

impl<V> Default for DenseMap<V> {
    fn default() -> Self {
        DenseMap {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<V> DenseMap<V> {
    /// The value of `id`.
    #[inline]
    pub fn get(&self, id: &u64) -> Option<&V> {
        self.slots.get(*id as usize).and_then(Option::as_ref)
    }

    /// The value of `id`, mutably.
    #[inline]
    pub fn get_mut(&mut self, id: &u64) -> Option<&mut V> {
        self.slots.get_mut(*id as usize).and_then(Option::as_mut)
    }

    /// Whether `id` has a value.
    #[inline]
    pub fn contains_key(&self, id: &u64) -> bool {
        self.get(id).is_some()
    }

    /// Sets the value of `id`; returns the previous one.
    pub fn insert(&mut self, id: u64, v: V) -> Option<V> {
        let i = id as usize;
        if i >= self.slots.len() {
            self.slots
                .resize_with((i + 1).max(self.slots.len() * 3 / 2), || None);
        }
        let old = self.slots[i].replace(v);
        if old.is_none() {
            self.len += 1;
        }
        old
    }

    /// Removes the value of `id`.
    pub fn remove(&mut self, id: &u64) -> Option<V> {
        let old = self.slots.get_mut(*id as usize).and_then(Option::take);
        if old.is_some() {
            self.len -= 1;
        }
        old
    }

    /// Number of values.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Slots allocated (ids up to the largest seen, filled or not).
    pub fn slots(&self) -> usize {
        self.slots.capacity()
    }

    /// `(id, value)` pairs in id order.
    pub fn iter(&self) -> impl Iterator<Item = (u64, &V)> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i as u64, v)))
    }
}

#[cfg(test)]
mod tests {
    use super::DenseMap;

    #[test]
    fn behaves_like_a_map() {
        let mut m = DenseMap::default();
        assert!(m.insert(5, "five").is_none());
        assert_eq!(m.insert(5, "V"), Some("five"));
        m.insert(1, "one");
        assert_eq!(m.len(), 2);
        assert_eq!(m.get(&5), Some(&"V"));
        assert!(m.get(&4).is_none() && m.get(&1000).is_none());
        assert_eq!(m.iter().map(|(k, _)| k).collect::<Vec<_>>(), vec![1, 5]);
        assert_eq!(m.remove(&1), Some("one"));
        assert_eq!(m.remove(&1), None);
        assert_eq!(m.len(), 1);
        *m.get_mut(&5).unwrap() = "W";
        assert!(m.contains_key(&5));
    }
}
