type Compacted<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>
}

/**
 * Drops the keys whose value is undefined, so options can be passed on as optional properties
 * under `exactOptionalPropertyTypes` (and so only the flags given are sent).
 */
export function compact<T extends object>(object: T): Compacted<T> {
  return Object.fromEntries(Object.entries(object).filter(([, value]) => value !== undefined)) as Compacted<T>
}
