// The shapes of GitHub's secret-scanning partner program: a report is an array of matches, the
// answer an array of labels (https://docs.github.com/en/code-security/secret-scanning/secret-scanning-partnership-program).
import { type Static, Type } from 'typebox'

/** Reports per request: GitHub sends small batches; this bounds what one request may cost. */
export const MAX_REPORTED = 100

export const ReportedToken = Type.Object(
  {
    token: Type.String({ maxLength: 1024, description: 'The string the scanner matched (the secret itself)' }),
    type: Type.String({ maxLength: 200, description: 'The scanner\'s name for the pattern, e.g. fgpat_personal_access_token' }),
    url: Type.String({ maxLength: 4096, description: 'Where it was found (a public commit, issue, gist…)' }),
    source: Type.String({ maxLength: 200, description: 'What kind of place: content, commit, pull_request_description, issue_comment, …' }),
  },
  // GitHub may add fields: ignoring them keeps a report from failing on a field we do not read.
  { additionalProperties: true },
)

export const LeakReportBody = Type.Array(ReportedToken, {
  maxItems: MAX_REPORTED,
  description: `Up to ${MAX_REPORTED} matches, as GitHub's secret scanning sends them`,
})
export type LeakReportBody = Static<typeof LeakReportBody>

export const LeakLabel = Type.Object(
  {
    token_raw: Type.String({ description: 'The reported string, as sent' }),
    token_type: Type.String({ description: 'The reported type, as sent' }),
    label: Type.Union([Type.Literal('true_positive'), Type.Literal('false_positive')], {
      description: 'true_positive: a token this service issued (revoked now, or already revoked before); false_positive: not one of its tokens',
    }),
  },
  { $id: 'LeakLabel' },
)
export type LeakLabel = Static<typeof LeakLabel>
