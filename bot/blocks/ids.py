"""Every action, view and block id, once. Handlers match on these; builders emit them."""

# Buttons and menus (their `value` is the pair id unless noted)
SET_AGREEMENT_ACTION = "agreement_open"
CHECKIN_OPEN_ACTION = "checkin_open"
SNOOZE_ACTION = "prompt_snooze"
HELP_ACTION = "prompt_help"
STOP_KIND_ACTION = "prompt_stop_kind"  # value "pair_id:kind"
RESUME_KIND_ACTION_PREFIX = "home_resume_kind_"  # + the kind (ids are unique within a block); value "pair_id:kind"
RESUME_PROMPTS_ACTION = "prompts_resume"
PICK_PAIR_ACTION = "pick_pair"

# Modals (callback ids)
CHECKIN_VIEW = "checkin_modal"
AGREEMENT_VIEW = "agreement_modal"

# Check-in modal blocks (block_id) and their inputs (action_id)
CHECKIN_MET_ON_BLOCK = "checkin_met_on"
CHECKIN_MET_ON_INPUT = "met_on"
CHECKIN_RATING_BLOCK = "checkin_rating"
CHECKIN_RATING_INPUT = "rating"
CHECKIN_SHARED_BLOCK = "checkin_shared"
CHECKIN_SHARED_INPUT = "shared_text"
CHECKIN_PRIVATE_BLOCK = "checkin_private"
CHECKIN_PRIVATE_INPUT = "private_note"
CHECKIN_NEXT_BLOCK = "checkin_next_meeting"
CHECKIN_NEXT_INPUT = "next_meeting_on"
CHECKIN_GOAL_BLOCK_PREFIX = "checkin_goal_"  # + goal id
CHECKIN_GOAL_INPUT = "goal_progress"

# Block ids of the buttons on the App Home and on prompt replacements
HOME_PAIR_ACTIONS_BLOCK_PREFIX = "home_pair_"  # + pair id
HOME_RESUME_KINDS_BLOCK_PREFIX = "home_resume_"  # + pair id

# Pair lifecycle
PAIRS_PAGE_ACTION = "pairs_page"  # value: the page number to show
CLOSING_REFLECTION_ACTION = "closing_reflection_open"
# One button per closure reason, each with its own action id (Slack refuses repeated action ids in a block):
# CLOSURE_REASON_ACTION_PREFIX + the reason; value "pair_id:reason" (a ClosureReason). Handlers match the prefix.
CLOSURE_REASON_ACTION_PREFIX = "closure_reason_"
CLOSING_REFLECTION_VIEW = "closing_reflection_modal"
# Input blocks of the agreement modal (each input's action id is INPUT_ACTION)
INPUT_ACTION = "value"
AGREEMENT_CADENCE_BLOCK = "agreement_cadence"
AGREEMENT_WHO_SETS_UP_BLOCK = "agreement_who_sets_up"
AGREEMENT_CONTACT_BLOCK = "agreement_contact"
AGREEMENT_CONFIDENTIALITY_BLOCK = "agreement_confidentiality"
AGREEMENT_OFF_LIMITS_BLOCK = "agreement_off_limits"
AGREEMENT_ENDS_ON_BLOCK = "agreement_ends_on"
AGREEMENT_SUCCESS_BLOCK = "agreement_success"
AGREEMENT_WAY_OUT_BLOCK = "agreement_way_out"
REFLECTION_TEXT_BLOCK = "reflection_text"

# Sign-up and matching
PROFILE_VIEW = "profile_modal"
PROFILE_JOIN_ACTION = "profile_join"  # the Home tab's "Join the mentoring program"
PROFILE_ROLE_BLOCK = "profile_role"
PROFILE_OFFERED_BLOCK = "profile_offered"
PROFILE_WANTED_BLOCK = "profile_wanted"
PROFILE_STRENGTHS_BLOCK = "profile_strengths"
PROFILE_QUESTIONS_BLOCK = "profile_questions"
PROFILE_CAPACITY_BLOCK = "profile_capacity"
PROFILE_BLOCKED_BLOCK = "profile_blocked"
HOME_JOIN_BLOCK = "home_join"
MATCH_ACCEPT_ACTION = "match_accept"  # value: the proposal id
MATCH_SKIP_ACTION = "match_skip"  # value: the proposal id
MATCH_ACCEPT_ALL_ACTION = "match_accept_all"  # value "first_id:last_id" of the round
MATCH_PROPOSAL_BLOCK_PREFIX = "match_proposal_"  # + proposal id
MATCH_ALL_BLOCK = "match_all"
CHOICE_PICK_ACTION = "choice_pick"  # value: the proposal id the mentee picks
CHOICE_BLOCK_PREFIX = "choice_"  # + proposal id
REQUEST_ACCEPT_ACTION = "request_accept"  # value: the proposal id the mentor answers
REQUEST_DECLINE_ACTION = "request_decline"
REQUEST_BLOCK_PREFIX = "request_"  # + proposal id
CHECKIN_QUESTIONS_BLOCK = "checkin_questions"  # the mentee's current questions in the check-in modal
# Outcomes: the fit check, quality pulses and the closing survey. Rating buttons share a block, so each
# carries its own action id (prefix + the answer); their value is "pair_id" (fit) or "pair_id:period" (pulse).
FIT_RATING_ACTION_PREFIX = "outcome_fit_"  # + 1…5
FIT_CHANGE_ACTION = "outcome_fit_change"
PULSE_GROWTH_ACTION_PREFIX = "outcome_growth_"  # + 1…5
PULSE_MEETING_ACTION_PREFIX = "outcome_meeting_"  # + a MeetingRegularity
CLOSING_SURVEY_ACTION = "outcome_closing_open"
CLOSING_SURVEY_VIEW = "outcome_closing_modal"
FIT_RATING_BLOCK = "outcome_fit_rating"
FIT_MORE_BLOCK = "outcome_fit_more"
PULSE_GROWTH_BLOCK = "outcome_growth"
PULSE_MEETING_BLOCK = "outcome_meeting"
OUTCOME_STOP_BLOCK = "outcome_stop"
CLOSING_OPEN_BLOCK = "outcome_closing"
CLOSING_GOAL_BLOCK_PREFIX = "outcome_goal_"  # + goal id; its input's action id is INPUT_ACTION
CLOSING_VALUE_BLOCK = "outcome_value"
CLOSING_AGAIN_BLOCK = "outcome_again"
CLOSING_HELPED_BLOCK = "outcome_helped"
