use std::rc::Rc;

fn main() {
    let (_tx, rx) = ringbus::mpmc::channel::<Rc<u8>>(4);
    std::thread::spawn(move || drop(rx));
}
