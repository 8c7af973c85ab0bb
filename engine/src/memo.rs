//! A small per-isolate memo: entries with a deadline, a hard size bound (cleared wholesale when
//! full, which is cheap and never wrong: a miss only costs the work the memo saves).

use std::cell::RefCell;
use std::collections::HashMap;

pub struct Memo<V> {
    entries: RefCell<HashMap<String, (V, u64)>>,
    capacity: usize,
}

impl<V: Clone> Memo<V> {
    pub fn new(capacity: usize) -> Self {
        Self { entries: RefCell::new(HashMap::new()), capacity }
    }

    /// The value for `key` if its deadline is not past `now`.
    pub fn get(&self, key: &str, now: u64) -> Option<V> {
        let entries = self.entries.borrow();
        entries.get(key).filter(|(_, until)| now <= *until).map(|(v, _)| v.clone())
    }

    pub fn insert(&self, key: &str, value: V, until: u64) {
        let mut entries = self.entries.borrow_mut();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(key.to_owned(), (value, until));
    }

    pub fn remove(&self, key: &str) {
        self.entries.borrow_mut().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::Memo;

    #[test]
    fn entries_expire_and_the_size_is_bounded() {
        let m = Memo::new(2);
        m.insert("a", 1, 10);
        assert_eq!(m.get("a", 10), Some(1));
        assert_eq!(m.get("a", 11), None);
        m.insert("b", 2, 10);
        m.insert("c", 3, 10);
        assert_eq!(m.get("a", 0), None, "cleared when full");
        assert_eq!(m.get("c", 0), Some(3));
        m.remove("c");
        assert_eq!(m.get("c", 0), None);
    }
}
