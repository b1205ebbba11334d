import { Codec, MAX_SESSION_DEPTH } from './codec';

const codec = new Codec('test');
const cookie = { originalMaxAge: 1000, path: '/' };

/** `levels` objects, each the only child of the one above. */
function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let level = 0; level < levels; level++) value = { child: value };
  return value;
}

describe('Codec.decode', () => {
  it.each([
    ['the form Date#toJSON writes', '2026-12-01T10:20:30.400Z'],
    ['an RFC 1123 date', 'Tue, 01 Dec 2026 10:20:30 GMT'],
    ['an ISO date without milliseconds', '2026-12-01T10:20:30Z'],
  ])('reads back a cookie whose expires is %s', (_form, expires) => {
    const text = JSON.stringify({ cookie: { ...cookie, expires } });
    expect(codec.decode('sid', text, 'sid').cookie.expires).toBe(expires);
  });

  it.each(['2026-13-01T10:20:30.400Z', 'not a date', ''])('refuses a cookie whose expires is %j', (expires) => {
    const text = JSON.stringify({ cookie: { ...cookie, expires } });
    expect(() => codec.decode('sid', text, 'sid')).toThrow(expect.objectContaining({ code: 'ERR_SESSION_CORRUPT' }));
  });

  it('reads back a session nested exactly as deep as the limit', () => {
    // The session itself is the first level.
    const text = JSON.stringify({ cookie, tree: nested(MAX_SESSION_DEPTH - 1) });
    expect(codec.decode('sid', text, 'sid')).toHaveProperty('tree');
  });

  it('refuses a session nested one level deeper than the limit', () => {
    const text = JSON.stringify({ cookie, tree: nested(MAX_SESSION_DEPTH) });
    expect(() => codec.decode('sid', text, 'sid')).toThrow(/nested deeper than 100 levels/);
  });

  it('refuses deep nesting of arrays as of objects', () => {
    const text = JSON.stringify({ cookie, tree: JSON.parse('['.repeat(MAX_SESSION_DEPTH) + ']'.repeat(MAX_SESSION_DEPTH)) });
    expect(() => codec.decode('sid', text, 'sid')).toThrow(/nested deeper than 100 levels/);
  });

  it('reads back a shallow session whose strings hold more brackets than the depth limit', () => {
    const text = JSON.stringify({ cookie, note: '{['.repeat(MAX_SESSION_DEPTH) });
    expect(codec.decode('sid', text, 'sid')).toHaveProperty('note');
  });
});
