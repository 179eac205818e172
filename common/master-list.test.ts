import { MasterAddressError, masterListText, parseMasterList } from './master-list';

describe('parseMasterList', () => {
  it('reads one address as a list of one, with the scheme given for an address without one and port 5050 by default', () => {
    expect(parseMasterList('m1:5060', 'https')).toEqual([{ httpUrl: 'https://m1:5060', host: 'm1', httpPort: 5060 }]);
    expect(parseMasterList('m1', 'http')).toEqual([{ httpUrl: 'http://m1:5050', host: 'm1', httpPort: 5050 }]);
  });

  it('reads a comma-separated list in its order, spaces trimmed, each entry with its own scheme or the one given', () => {
    expect(parseMasterList('a:5050, http://b:5060 ,https://c:5070', 'https')).toEqual([
      { httpUrl: 'https://a:5050', host: 'a', httpPort: 5050 },
      { httpUrl: 'http://b:5060', host: 'b', httpPort: 5060 },
      { httpUrl: 'https://c:5070', host: 'c', httpPort: 5070 },
    ]);
  });

  it('keeps a master named twice once, in its first place', () => {
    expect(parseMasterList('b:5060,a:5050,b:5060', 'http').map((e) => e.httpUrl)).toEqual(['http://b:5060', 'http://a:5050']);
  });

  it('refuses an empty entry with a MasterAddressError saying which one', () => {
    expect(() => parseMasterList('a:5050,,b:5060', 'http')).toThrow(MasterAddressError);
    expect(() => parseMasterList('a:5050,,b:5060', 'http')).toThrow("master address 'a:5050,,b:5060' has an empty entry (number 2 of 3)");
    expect(() => parseMasterList('a:5050,', 'http')).toThrow('empty entry (number 2 of 2)');
  });

  it.each([
    ['ftp://a:21', 'must be host:port, https://host:port or http://host:port'],
    ['a:99999', 'is not host:port'],
    ['a b:5050', 'is not host:port'],
    ['a:5050/api', 'without a path'],
  ])('refuses the bad entry %s, naming it and not the rest', (bad, why) => {
    const err = (() => { try { parseMasterList(`ok:5050,${bad}`, 'http'); } catch (e) { return e; } })() as MasterAddressError;
    expect(err).toBeInstanceOf(MasterAddressError);
    expect(err.entry).toBe(bad);
    expect(err.message).toContain(`'${bad}'`);
    expect(err.message).toContain(why);
  });

  it('writes the list back as the URLs a client passes on', () => {
    expect(masterListText(parseMasterList('a:5050,b:5060', 'https'))).toBe('https://a:5050,https://b:5060');
  });
});
