/** The version of `@strongroom/sdk`, as sent in its `User-Agent`. Kept equal to `package.json`. */
export const SDK_VERSION = '0.1.0'
