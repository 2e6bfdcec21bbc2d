import { describe, expect, it } from 'vitest'
import { bcryptPbkdf } from '../../../src/crypto/ssh-keys/bcrypt-pbkdf.js'
import { Blowfish } from '../../../src/crypto/ssh-keys/blowfish.js'
import { poly1305 } from '../../../src/crypto/ssh-keys/chacha20-poly1305.js'
import { piFractionWords } from '../../../src/crypto/ssh-keys/pi-hex-digits.js'

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex')

describe('Blowfish', () => {
  it('starts from the hexadecimal digits of π (P[0], S[0][0], S[3][255])', () => {
    const words = piFractionWords(18 + 1024)
    expect(words[0]).toBe(0x243f6a88)
    expect(words[17]).toBe(0x8979fb1b)
    expect(words[18]).toBe(0xd1310ba6)
    expect(words[18 + 1023]).toBe(0x3ac372e6)
  })

  // Eric Young's ECB vectors, published by Bruce Schneier (schneier.com/code/vectors.txt):
  // key, plaintext, ciphertext.
  it.each([
    ['0000000000000000', '0000000000000000', '4EF997456198DD78'],
    ['FFFFFFFFFFFFFFFF', 'FFFFFFFFFFFFFFFF', '51866FD5B85ECB8A'],
    ['3000000000000000', '1000000000000001', '7D856F9A613063F2'],
    ['1111111111111111', '1111111111111111', '2466DD878B963C9D'],
    ['0123456789ABCDEF', '1111111111111111', '61F9C3802281B096'],
    ['1111111111111111', '0123456789ABCDEF', '7D0CC630AFDA1EC7'],
    ['FEDCBA9876543210', '0123456789ABCDEF', '0ACEAB0FC6A0A28D'],
    ['7CA110454A1A6E57', '01A1D6D039776742', '59C68245EB05282B'],
    ['0131D9619DC1376E', '5CD54CA83DEF57DA', 'B1B8CC0B250F09A0'],
    ['07A1133E4A0B2686', '0248D43806F67172', '1730E5778BEA1DA4'],
    ['3849674C2602319E', '51454B582DDF440A', 'A25E7856CF2651EB'],
    ['04B915BA43FEB5B6', '42FD443059577FA2', '353882B109CE8F1A'],
    ['43297FAD38E373FE', '762514B829BF486A', '13F04154D69D1AE5'],
    ['584023641ABA6176', '004BD6EF09176062', '452031C1E4FADA8E'],
    ['4FB05E1515AB73A7', '072D43A077075292', '7A8E7BFA937E89A3'],
  ])('encrypts %s / %s to %s', (key, plaintext, ciphertext) => {
    expect(Buffer.from(Blowfish.withKey(hex(key)).encryptBlock(hex(plaintext)))).toEqual(hex(ciphertext))
  })

  // The same source's "set_key" vectors: the first 1…24 bytes of one key, fixed plaintext. Key
  // lengths that are not a multiple of 4 exercise the cyclic key stream.
  it('encrypts with keys of every length from 1 to 24 bytes', () => {
    const key = hex('F0E1D2C3B4A5968778695A4B3C2D1E0F0011223344556677')
    const expected = `F9AD597C49DB005E E91D21C1D961A6D6 E9C2B70A1BC65CF3 BE1E639408640F05
      B39E44481BDB1E6E 9457AA83B1928C0D 8BB77032F960629D E87A244E2CC85E82
      15750E7A4F4EC577 122BA70B3AB64AE0 3A833C9AFFC537F6 9409DA87A90F6BF2
      884F80625060B8B4 1F85031C19E11968 79D9373A714CA34F 93142887EE3BE15C
      03429E838CE2D14B A4299E27469FF67B AFD5AED1C1BC96A8 10851C0E3858DA9F
      E6F51ED79B9DB21F 64A6E14AFD36B46F 80C7D7D45A5479AD 05044B62FA52D080`.split(/\s+/)
    const actual = expected.map((_, i) =>
      Buffer.from(Blowfish.withKey(key.subarray(0, i + 1)).encryptBlock(hex('FEDCBA9876543210')))
        .toString('hex')
        .toUpperCase(),
    )
    expect(actual).toEqual(expected)
  })
})

describe('bcrypt_pbkdf', () => {
  // OpenBSD's regress/lib/libutil/bcrypt_pbkdf vectors, as carried by RustCrypto's bcrypt-pbkdf
  // crate (tests/test_vectors.rs): password, salt, rounds, output (its length is the key length).
  const lorem =
    'Lorem ipsum dolor sit amet, consectetur adipisicing elit, sed do eiusmod tempor incididunt ut labore et ' +
    'dolore magna aliqua. Ut enim ad minim veniam, quis nostrud exercitation ullamco laboris nisi ut aliquip ex ' +
    'ea commodo consequat. Duis aute irure dolor in reprehenderit in voluptate velit esse cillum dolore eu ' +
    'fugiat nulla pariatur. Excepteur sint occaecat cupidatat non proident, sunt in culpa qui officia deserunt ' +
    'mollit anim id est laborum.'
  it.each([
    ['password', 'salt', 4, '5bbf0cc293587f1c3635555c27796598d47e579071bf427e9d8fbe842aba34d9'],
    ['password', '\0', 4, 'c12b566235eee04c212598970a579a67'],
    ['\0', 'salt', 4, '6051be18c2f4f82cbf0efee5471b4bb9'],
    ['password\0', 'salt\0', 4, '7410e44cf4fa07bfaac8a928b1727fac001375e7bf7384370f48efd121743050'],
    ['pass\0wor', 'sa\0l', 4, 'c2bffd9db38f6569efef4372f4de83c0'],
    ['pass\0word', 'sa\0lt', 4, '4ba4ac3925c0e8d7f0cdb6bb1684a56f'],
    [
      'password',
      'salt',
      8,
      'e1367ec5151a33faac4cc1c144cd23fa15d5548493ecc99b9b5d9c0d3b27bec76227ea66088b849b20ab7aa478010246e74bba51723fefa9f9474d6508845e8d',
    ],
    ['password', 'salt', 42, '833cf0dcf56db65608e8f0dc0ce882bd'],
    [lorem, 'salis\0', 8, '10978b07253df57f71a162eb0e8ad30a'],
  ])('derives from %j / %j with %i rounds', (password, salt, rounds, expected) => {
    const key = bcryptPbkdf(
      Buffer.from(password, 'latin1'),
      Buffer.from(salt, 'latin1'),
      expected.length / 2,
      rounds,
    )
    expect(key.toString('hex')).toBe(expected)
  })

  it('refuses what OpenBSD refuses: no rounds, empty password or salt, more than 1024 bytes', () => {
    const some = Buffer.from('x')
    expect(() => bcryptPbkdf(some, some, 32, 0)).toThrow(RangeError)
    expect(() => bcryptPbkdf(Buffer.alloc(0), some, 32, 1)).toThrow(RangeError)
    expect(() => bcryptPbkdf(some, Buffer.alloc(0), 32, 1)).toThrow(RangeError)
    expect(() => bcryptPbkdf(some, some, 1025, 1)).toThrow(RangeError)
  })
})

describe('Poly1305', () => {
  it('matches RFC 8439 §2.5.2', () => {
    const key = hex('85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b')
    const tag = poly1305(key, Buffer.from('Cryptographic Forum Research Group'))
    expect(tag.toString('hex')).toBe('a8061dc1305136c6c22b8baf0c0127a9')
  })
})
