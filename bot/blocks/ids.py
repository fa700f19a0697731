"""Every action, view and block id, once. Handlers match on these; builders emit them."""

# Buttons and menus (their `value` is the pair id unless noted)
SET_AGREEMENT_ACTION = "agreement_open"
CHECKIN_OPEN_ACTION = "checkin_open"
SNOOZE_ACTION = "prompt_snooze"
HELP_ACTION = "prompt_help"
STOP_KIND_ACTION = "prompt_stop_kind"  # value "pair_id:kind"
RESUME_KIND_ACTION = "home_resume_kind"  # value "pair_id:kind"
RESUME_PROMPTS_ACTION = "prompts_resume"
PICK_PAIR_ACTION = "pick_pair"

# Modals (callback ids)
CHECKIN_VIEW = "checkin_modal"
AGREEMENT_VIEW = "agreement_modal"
