import { ACCESS_LEVEL, POST, USER_ONLY, defineCategory } from './define.js'

const { none } = ACCESS_LEVEL

/**
 * AI features act for the user and see only what the user may see, so they are granted on the
 * user boundary; what they may read is still limited by the token's other permissions.
 */
export const AI_FEATURE_PERMISSIONS = defineCategory('ai_features', { boundaries: USER_ONLY }, [
  {
    name: 'use_duo_chat',
    title: 'AI chat: Use',
    routes: [POST('/chat/completions', 'self')],
    description: 'Ask the AI assistant questions about code, issues and merge requests.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['ai', 'duo', 'chat', 'assistant', 'llm', 'copilot'],
  },
  {
    name: 'use_code_suggestions',
    title: 'Code suggestions: Use',
    routes: [POST('/code_suggestions/completions', 'self'), POST('/code_suggestions/direct_access', 'self')],
    description: 'Receive AI code completions and generation in your editor.',
    minAccessLevel: none,
    access: 'write',
    synonyms: ['ai', 'duo', 'code completion', 'autocomplete', 'ide', 'copilot'],
  },
])
