import { copyField } from './copy-text';

describe('copyField', () => {
  it('leaves a value without specials as it is', () => {
    expect(copyField('{"a":"b c","n":1}')).toBe('{"a":"b c","n":1}');
  });

  it('escapes the escape character and the separators, so that COPY reads the value back exactly', () => {
    expect(copyField('{"q":"say \\"hi\\"\\n"}\tx\ny\rz')).toBe('{"q":"say \\\\"hi\\\\"\\\\n"}\\tx\\ny\\rz');
  });
});
