// The functions the browser tests hand to `page.evaluate` run in Chromium, not in Node: they are
// type-checked against the DOM library. `dom.iterable` keeps Node's `Headers` and friends iterable
// for the rest of the test program, which shares one compilation with these files.
/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
