//! The iterators over a [`Puller`]'s jobs.

use super::Puller;

/// An iterator over the jobs already waiting, from [`Puller::try_iter`].
///
/// ```
/// let (push, pull) = ringbus::pipeline::channel(4);
/// push.send('x').unwrap();
/// let mut jobs = pull.try_iter();
/// assert_eq!(jobs.next(), Some('x'));
/// assert_eq!(jobs.next(), None);
/// ```
#[derive(Debug)]
pub struct TryIter<'a, T> {
    pub(super) puller: &'a Puller<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.puller.try_recv().ok()
    }
}

/// A waiting iterator over the jobs, from [`Puller::iter`]; ends when no job
/// waits and every pusher is gone.
///
/// ```
/// let (push, pull) = ringbus::pipeline::channel(4);
/// push.send(1).unwrap();
/// drop(push);
/// assert_eq!(pull.iter().collect::<Vec<_>>(), [1]);
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    pub(super) puller: &'a Puller<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.puller.recv().ok()
    }
}

/// A waiting iterator that owns a [`Puller`]; ends when no job waits and
/// every pusher is gone.
///
/// ```
/// let (push, pull) = ringbus::pipeline::channel(8);
/// (0..3).for_each(|j| push.send(j).unwrap());
/// drop(push);
/// assert_eq!(pull.into_iter().collect::<Vec<_>>(), [0, 1, 2]);
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    puller: Puller<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.puller.recv().ok()
    }
}

impl<T> IntoIterator for Puller<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { puller: self }
    }
}

impl<'a, T> IntoIterator for &'a Puller<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
