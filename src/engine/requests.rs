//! The requests of one analysis, kept where they were first put.

use crate::engine::request::Request;

/// Requests in blocks that never move: a request is ~330 bytes, and a box each costs an
/// allocation per request, while one vector moves them all each time it grows (measured:
/// a quarter of the time).
#[derive(Default)]
pub(crate) struct Requests {
    blocks: Vec<Vec<Request>>,
    len: usize,
}

impl Requests {
    const BLOCK: usize = 256;

    /// Adds a request; its index.
    pub(crate) fn push(&mut self, req: Request) -> usize {
        if self.len % Self::BLOCK == 0 {
            self.blocks.push(Vec::with_capacity(Self::BLOCK));
        }
        if let Some(block) = self.blocks.last_mut() {
            block.push(req);
        }
        self.len += 1;
        self.len - 1
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Request> {
        self.blocks.iter().flatten()
    }
}

impl std::ops::Index<usize> for Requests {
    type Output = Request;
    fn index(&self, at: usize) -> &Request {
        &self.blocks[at / Self::BLOCK][at % Self::BLOCK]
    }
}

impl std::ops::IndexMut<usize> for Requests {
    fn index_mut(&mut self, at: usize) -> &mut Request {
        &mut self.blocks[at / Self::BLOCK][at % Self::BLOCK]
    }
}

impl<'r> IntoIterator for &'r Requests {
    type Item = &'r Request;
    type IntoIter = std::iter::Flatten<std::slice::Iter<'r, Vec<Request>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.blocks.iter().flatten()
    }
}

impl IntoIterator for Requests {
    type Item = Request;
    type IntoIter = std::iter::Flatten<std::vec::IntoIter<Vec<Request>>>;
    fn into_iter(self) -> Self::IntoIter {
        self.blocks.into_iter().flatten()
    }
}
