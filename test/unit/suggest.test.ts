import t from 'tap'
import { checkScopeShapes } from '../../src/domain/scopes.js'
import { closestName } from '../../src/domain/suggest.js'

t.equal(closestName('read_cod', ['read_code', 'push_code']), 'read_code')
t.equal(closestName('PUSH_CODE', ['read_code', 'push_code']), 'push_code')
t.equal(closestName('completely_unrelated', ['read_code', 'push_code']), undefined)
const [problem] = checkScopeShapes([{ access: 'user', permissions: ['raed_user'] }])
t.match(problem, { code: 'unknown_permission', message: /did you mean "read_user"/ })
